import type { FastifyInstance } from 'fastify';
import type { ServiceCatalog, ServiceChange } from '../../protection-manager/service-catalog.js';
import { requestContext } from '../auth.js';
import { projectParams } from '../schemas.js';

const listQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { host: { type: 'string', maxLength: 255 }, binary: { type: 'string', maxLength: 255 } },
} as const;
const idParams = {
  ...projectParams,
  required: ['project_id', 'id'],
  properties: { ...projectParams.properties, id: { type: 'string', maxLength: 64 } },
} as const;
const updateBody = {
  type: 'object',
  additionalProperties: false,
  required: ['status'],
  properties: { status: { enum: ['enabled', 'disabled'] }, disabled_reason: { type: ['string', 'null'], maxLength: 255 } },
} as const;

/** Karbor's os-services (admins only): `{"services": [...]}` and, on PUT, `{"service": ...}`. */
export function serviceRoutes(app: FastifyInstance, services: ServiceCatalog): void {
  app.get('/v1/:project_id/os-services', { schema: { tags: ['services'], querystring: listQuery } }, async (req) => {
    const q = req.query as { host?: string; binary?: string };
    return {
      services: await services.list(requestContext(req), {
        ...(q.host ? { host: q.host } : {}),
        ...(q.binary ? { binary: q.binary } : {}),
      }),
    };
  });
  app.put('/v1/:project_id/os-services/:id', { schema: { tags: ['services'], params: idParams, body: updateBody } }, async (req) => ({
    service: await services.update(requestContext(req), (req.params as { id: string }).id, req.body as ServiceChange),
  }));
}
