import type { FastifyInstance } from 'fastify';
import { bwkError } from '../../core/errors.js';
import type { ProtectionService } from '../../protection-manager/service.js';
import { requestContext } from '../auth.js';
import {
  idParams,
  instancesQuery,
  pageQuery,
  planCreateBody,
  planUpdateBody,
  projectParams,
  providerRefParams,
  typeParams,
} from '../schemas.js';
import { assertJsonDepth, DEFAULT_JSON_MAX_DEPTH } from '../json-body.js';
import { given } from './given.js';
import { pageOf } from './paging.js';

type Params = { project_id: string; id: string };

/** Providers, protectables and plans — Karbor's bodies (`{"plan": ...}`) and odd keys (`protectable_type`). */
export function catalogRoutes(app: FastifyInstance, service: ProtectionService): void {
  app.get('/v1/:project_id/providers', { schema: { tags: ['providers'], params: projectParams, querystring: pageQuery } }, async (req) => {
    return { providers: await service.listProviders(requestContext(req)) };
  });
  app.get('/v1/:project_id/providers/:provider_id', { schema: { tags: ['providers'], params: providerRefParams } }, async (req) => {
    return { provider: await service.showProvider(requestContext(req), (req.params as { provider_id: string }).provider_id) };
  });

  app.get('/v1/:project_id/protectables', { schema: { tags: ['protectables'], params: projectParams } }, async (req) => {
    return { protectable_type: await service.protectableTypes(requestContext(req)) };
  });
  app.get('/v1/:project_id/protectables/:type', { schema: { tags: ['protectables'], params: typeParams } }, async (req) => {
    return { protectable_type: await service.showProtectableType(requestContext(req), (req.params as { type: string }).type) };
  });
  app.get(
    '/v1/:project_id/protectables/:type/instances',
    { schema: { tags: ['protectables'], querystring: instancesQuery } },
    async (req) => {
      const raw = (req.query as { parameters?: string }).parameters;
      let parameters: unknown = {};
      if (raw !== undefined) {
        assertJsonDepth(raw, DEFAULT_JSON_MAX_DEPTH);
        try {
          parameters = JSON.parse(raw);
        } catch {
          throw bwkError('BWK_ERR_INVALID_INPUT', { reason: 'query parameter "parameters" must be a JSON object' });
        }
      }
      return { instances: await service.listProtectableInstances(requestContext(req), (req.params as { type: string }).type, parameters) };
    },
  );
  // Karbor's client puts a resource id in the path as it is: /srv/data arrives as .../instances//srv/data.
  app.get('/v1/:project_id/protectables/:type/instances/*', { schema: { tags: ['protectables'] } }, async (req) => {
    const p = req.params as { type: string; '*': string };
    const raw = decodeURIComponent(p['*']);
    return { instance: await service.showProtectableInstance(requestContext(req), p.type, raw) };
  });

  app.get('/v1/:project_id/plans', { schema: { tags: ['plans'], params: projectParams, querystring: pageQuery } }, async (req) => {
    return { plans: await service.listPlans(requestContext(req), pageOf(req.query)) };
  });
  app.post('/v1/:project_id/plans', { schema: { tags: ['plans'], params: projectParams, body: planCreateBody } }, async (req, reply) => {
    const { plan } = req.body as {
      plan: {
        name: string;
        description?: string | null;
        provider_id: string;
        resources: Array<{
          id: string;
          type: string;
          name?: string;
          extra_info?: Record<string, unknown> | null;
          node?: string;
          consistency?: unknown;
        }>;
        parameters?: Record<string, unknown>;
      };
    };
    const created = await service.createPlan(requestContext(req), {
      name: plan.name,
      provider_id: plan.provider_id,
      ...given(plan, ['description']),
      resources: plan.resources.map((r) => ({ id: r.id, type: r.type, ...given(r, ['name', 'extra_info', 'node', 'consistency']) })),
      ...given(plan, ['parameters']),
    });
    return reply.status(200).send({ plan: created });
  });
  app.get('/v1/:project_id/plans/:id', { schema: { tags: ['plans'], params: idParams } }, async (req) => {
    return { plan: await service.showPlan(requestContext(req), (req.params as Params).id) };
  });
  app.put('/v1/:project_id/plans/:id', { schema: { tags: ['plans'], params: idParams, body: planUpdateBody } }, async (req) => {
    const { plan } = req.body as { plan: Record<string, unknown> };
    return { plan: await service.updatePlan(requestContext(req), (req.params as Params).id, plan) };
  });
  app.delete('/v1/:project_id/plans/:id', { schema: { tags: ['plans'], params: idParams } }, async (req, reply) => {
    await service.deletePlan(requestContext(req), (req.params as Params).id);
    return reply.status(202).send();
  });
}
