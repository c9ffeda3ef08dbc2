import type { FastifyInstance } from 'fastify';
import type { NewSubscription, SubscriptionService } from '../../notifications/subscriptions.js';
import { requestContext } from '../auth.js';
import { projectParams } from '../schemas.js';

const idParams = {
  ...projectParams,
  required: ['project_id', 'id'],
  properties: { ...projectParams.properties, id: { type: 'string', maxLength: 64 } },
} as const;
const stringList = { type: 'array', maxItems: 50, items: { type: 'string', maxLength: 64 } } as const;
const createBody = {
  type: 'object',
  additionalProperties: false,
  required: ['subscription'],
  properties: {
    subscription: {
      type: 'object',
      additionalProperties: false,
      required: ['target'],
      properties: {
        target: {
          type: 'object',
          additionalProperties: false,
          required: ['type'],
          properties: {
            type: { enum: ['webhook', 'email'] },
            url: { type: 'string', maxLength: 2048 },
            addresses: { type: 'array', maxItems: 20, items: { type: 'string', maxLength: 254 } },
          },
        },
        filter: {
          type: 'object',
          additionalProperties: false,
          properties: { kinds: stringList, outcomes: stringList, plan_ids: stringList },
        },
      },
    },
  },
} as const;
const tags = ['notifications'];

/**
 * Notification subscriptions of a project (docs/notifications.md): `{"subscription": ...}` and
 * `{"subscriptions": [...]}` like every other resource; the secret is in the create response only.
 */
export function subscriptionRoutes(app: FastifyInstance, subscriptions: SubscriptionService): void {
  app.post('/v1/:project_id/subscriptions', { schema: { tags, params: projectParams, body: createBody } }, async (req, reply) => {
    const body = req.body as { subscription: NewSubscription };
    reply.code(201);
    return { subscription: await subscriptions.create(requestContext(req), body.subscription) };
  });
  app.get('/v1/:project_id/subscriptions', { schema: { tags, params: projectParams } }, async (req) => ({
    subscriptions: await subscriptions.list(requestContext(req)),
  }));
  app.get('/v1/:project_id/subscriptions/:id', { schema: { tags, params: idParams } }, async (req) => ({
    subscription: await subscriptions.show(requestContext(req), (req.params as { id: string }).id),
  }));
  app.delete('/v1/:project_id/subscriptions/:id', { schema: { tags, params: idParams } }, async (req, reply) => {
    await subscriptions.delete(requestContext(req), (req.params as { id: string }).id);
    return reply.code(204).send();
  });
  app.get('/v1/:project_id/subscriptions/:id/deliveries', { schema: { tags, params: idParams } }, async (req) => ({
    deliveries: await subscriptions.deliveries(requestContext(req), (req.params as { id: string }).id),
  }));
}
