import type { FastifyInstance } from 'fastify';
import type { QuotaService } from '../../protection-manager/quota-service.js';
import { requestContext } from '../auth.js';
import { projectParams } from '../schemas.js';

const NAME = { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,64}$' } as const;
const targetParams = {
  ...projectParams,
  required: ['project_id', 'target'],
  properties: { ...projectParams.properties, target: NAME },
} as const;
const classParams = {
  ...projectParams,
  required: ['project_id', 'name'],
  properties: { ...projectParams.properties, name: NAME },
} as const;
const limit = { type: ['integer', 'null'], minimum: -1, maximum: 2 ** 31 - 1, description: '-1: unlimited' } as const;
const values = {
  type: 'object',
  additionalProperties: false,
  properties: { plans: limit, triggers: limit, scheduled_operations: limit },
} as const;
const body = (key: string) => ({ type: 'object', additionalProperties: false, required: [key], properties: { [key]: values } }) as const;

type Target = { target: string };
type Named = { name: string };

/**
 * Karbor's quota API: `quotas/{project}` (and `/detail`, `/defaults`) and `quota_classes/{name}`,
 * answering `{"quota": ...}` and `{"quota_class": ...}` as Karbor's client reads them.
 */
export function quotaRoutes(app: FastifyInstance, quotas: QuotaService): void {
  const tags = ['quotas'];
  app.get('/v1/:project_id/quotas/:target', { schema: { tags, params: targetParams } }, async (req) => ({
    quota: await quotas.show(requestContext(req), (req.params as Target).target),
  }));
  app.get('/v1/:project_id/quotas/:target/detail', { schema: { tags, params: targetParams } }, async (req) => ({
    quota: await quotas.detail(requestContext(req), (req.params as Target).target),
  }));
  app.get('/v1/:project_id/quotas/:target/defaults', { schema: { tags, params: targetParams } }, async (req) => ({
    quota: await quotas.defaults(requestContext(req), (req.params as Target).target),
  }));
  app.put('/v1/:project_id/quotas/:target', { schema: { tags, params: targetParams, body: body('quota') } }, async (req) => ({
    quota: await quotas.update(requestContext(req), (req.params as Target).target, (req.body as { quota: unknown }).quota),
  }));
  app.get('/v1/:project_id/quota_classes/:name', { schema: { tags, params: classParams } }, async (req) => ({
    quota_class: await quotas.showClass(requestContext(req), (req.params as Named).name),
  }));
  app.put('/v1/:project_id/quota_classes/:name', { schema: { tags, params: classParams, body: body('quota_class') } }, async (req) => ({
    quota_class: await quotas.updateClass(
      requestContext(req),
      (req.params as Named).name,
      (req.body as { quota_class: unknown }).quota_class,
    ),
  }));
}
