/**
 * Every `/v1/:project_id/...` route checks the project id's format, whatever schema it was written
 * with: applied as routes are registered, so a new route cannot forget it.
 */
import type { RouteOptions } from 'fastify';
import { projectParams } from './schemas.js';

type ParamsSchema = { type?: string; required?: readonly string[]; properties?: Record<string, unknown> };

/** Fastify's onRoute hook: adds `project_id` (format and presence) to the route's params schema. */
export function requireProjectIdFormat(route: RouteOptions): void {
  if (!route.url.startsWith('/v1/:project_id/')) return;
  const schema = (route.schema ?? {}) as { params?: ParamsSchema };
  const params = schema.params ?? {};
  route.schema = {
    ...schema,
    params: {
      ...params,
      type: 'object',
      required: [...new Set([...(params.required ?? []), 'project_id'])],
      properties: { ...params.properties, project_id: projectParams.properties.project_id },
    },
  };
}
