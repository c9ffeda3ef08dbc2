import type { FastifyInstance } from 'fastify';
import type { OperationLogQuery, SchedulingService } from '../../operation-engine/service.js';
import type { OverlapPolicy, TriggerType } from '../../store/scheduling-records.js';
import { requestContext } from '../auth.js';
import {
  idParams,
  operationLogListQuery,
  projectParams,
  scheduledOperationCreateBody,
  scheduledOperationListQuery,
  triggerCreateBody,
  triggerListQuery,
  triggerParams,
  triggerUpdateBody,
} from '../schemas.js';
import { given } from './given.js';
import { pageOf } from './paging.js';

type Params = { project_id: string; id: string };

/** The list filters `keys` the query string gives (only those: the service's query carries no undefined values). */
function filtersOf<K extends string>(query: unknown, keys: readonly K[]): { [P in K]?: string } {
  const q = query as Partial<Record<K, string>>;
  const out: { [P in K]?: string } = {};
  for (const k of keys) if (q[k] !== undefined) out[k] = q[k];
  return out;
}

/**
 * Triggers, scheduled operations and operation logs in Karbor's v1 shape (`{"trigger_info": ...}`,
 * a scheduled operation list under `operations`), over the SchedulingService, which validates,
 * coerces Karbor's strings and keeps tenants apart. Suspend, resume and run are Bulwark's own.
 */
export function schedulingRoutes(app: FastifyInstance, scheduling: SchedulingService): void {
  triggerRoutes(app, scheduling);
  scheduledOperationRoutes(app, scheduling);
  operationLogRoutes(app, scheduling);
}

function triggerRoutes(app: FastifyInstance, scheduling: SchedulingService): void {
  const tags = ['triggers'];
  const triggerId = (req: { params: unknown }) => (req.params as { trigger_id: string }).trigger_id;
  app.get('/v1/:project_id/triggers', { schema: { tags, params: projectParams, querystring: triggerListQuery } }, async (req) => {
    return {
      triggers: await scheduling.listTriggers(requestContext(req), { ...pageOf(req.query), ...filtersOf(req.query, ['name', 'type']) }),
    };
  });
  const createSchema = { tags, successStatus: 200, params: projectParams, body: triggerCreateBody };
  app.post('/v1/:project_id/triggers', { schema: createSchema }, async (req, reply) => {
    const { trigger_info } = req.body as { trigger_info: { name: string; type: TriggerType; properties: Record<string, unknown> } };
    const created = await scheduling.createTrigger(requestContext(req), {
      name: trigger_info.name,
      type: trigger_info.type,
      properties: trigger_info.properties,
    });
    return reply.status(200).send({ trigger_info: created });
  });
  app.get('/v1/:project_id/triggers/:trigger_id', { schema: { tags, params: triggerParams } }, async (req) => {
    return { trigger_info: await scheduling.showTrigger(requestContext(req), triggerId(req)) };
  });
  app.put('/v1/:project_id/triggers/:trigger_id', { schema: { tags, params: triggerParams, body: triggerUpdateBody } }, async (req) => {
    const { trigger_info } = req.body as { trigger_info: { name?: string; properties?: Record<string, unknown> } };
    // Karbor's client sends `"properties": {}` when only the name changes: no properties, not an empty schedule.
    const properties = trigger_info.properties && Object.keys(trigger_info.properties).length > 0 ? trigger_info.properties : undefined;
    return {
      trigger_info: await scheduling.updateTrigger(requestContext(req), triggerId(req), {
        ...(trigger_info.name !== undefined ? { name: trigger_info.name } : {}),
        ...(properties ? { properties } : {}),
      }),
    };
  });
  app.delete('/v1/:project_id/triggers/:trigger_id', { schema: { tags, params: triggerParams } }, async (req, reply) => {
    await scheduling.deleteTrigger(requestContext(req), triggerId(req));
    return reply.status(202).send();
  });
}

function scheduledOperationRoutes(app: FastifyInstance, scheduling: SchedulingService): void {
  const tags = ['scheduled_operations'];
  const listSchema = { tags, params: projectParams, querystring: scheduledOperationListQuery };
  app.get('/v1/:project_id/scheduled_operations', { schema: listSchema }, async (req) => {
    const q = { ...pageOf(req.query), ...filtersOf(req.query, ['name', 'operation_type', 'trigger_id', 'plan_id']) };
    // Karbor's list key is `operations`, not `scheduled_operations`.
    return { operations: await scheduling.listScheduledOperations(requestContext(req), q) };
  });
  const createSchema = { tags, successStatus: 200, params: projectParams, body: scheduledOperationCreateBody };
  app.post('/v1/:project_id/scheduled_operations', { schema: createSchema }, async (req, reply) => {
    const { scheduled_operation: op } = req.body as {
      scheduled_operation: {
        name: string;
        description?: string | null;
        operation_type: string;
        trigger_id: string;
        operation_definition: Record<string, unknown>;
        overlap?: OverlapPolicy;
      };
    };
    const created = await scheduling.createScheduledOperation(requestContext(req), {
      name: op.name,
      operation_type: op.operation_type,
      trigger_id: op.trigger_id,
      operation_definition: op.operation_definition,
      ...given(op, ['description', 'overlap']),
    });
    return reply.status(200).send({ scheduled_operation: created });
  });
  app.get('/v1/:project_id/scheduled_operations/:id', { schema: { tags, params: idParams } }, async (req) => {
    return { scheduled_operation: await scheduling.showScheduledOperation(requestContext(req), (req.params as Params).id) };
  });
  app.delete('/v1/:project_id/scheduled_operations/:id', { schema: { tags, params: idParams } }, async (req, reply) => {
    await scheduling.deleteScheduledOperation(requestContext(req), (req.params as Params).id);
    return reply.status(202).send();
  });

  const extension = (what: string) => `Bulwark extension (not in Karbor's API): ${what}`;
  const suspendSchema = {
    tags,
    successStatus: 200,
    params: idParams,
    description: extension('stops firing the scheduled operation; a run under way goes on. Answers {"scheduled_operation"}.'),
  };
  app.post('/v1/:project_id/scheduled_operations/:id/suspend', { schema: suspendSchema }, async (req) => {
    return { scheduled_operation: await scheduling.suspendScheduledOperation(requestContext(req), (req.params as Params).id) };
  });
  const resumeSchema = {
    tags,
    successStatus: 200,
    params: idParams,
    description: extension(
      "fires the scheduled operation again from its trigger's next due time; due times passed while suspended are not run. " +
        'Answers {"scheduled_operation"}.',
    ),
  };
  app.post('/v1/:project_id/scheduled_operations/:id/resume', { schema: resumeSchema }, async (req) => {
    return { scheduled_operation: await scheduling.resumeScheduledOperation(requestContext(req), (req.params as Params).id) };
  });
  const runSchema = {
    tags,
    successStatus: 202,
    params: idParams,
    description: extension(
      'runs the scheduled operation now, outside its schedule (its overlap policy applies). Answers 202 with {"operation_log"} of the run.',
    ),
  };
  app.post('/v1/:project_id/scheduled_operations/:id/run', { schema: runSchema }, async (req, reply) => {
    const log = await scheduling.runScheduledOperation(requestContext(req), (req.params as Params).id);
    return reply.status(202).send({ operation_log: log });
  });
}

function operationLogRoutes(app: FastifyInstance, scheduling: SchedulingService): void {
  const tags = ['operation_logs'];
  app.get(
    '/v1/:project_id/operation_logs',
    { schema: { tags, params: projectParams, querystring: operationLogListQuery } },
    async (req) => {
      const q: OperationLogQuery = {
        ...pageOf(req.query),
        ...filtersOf(req.query, ['scheduled_operation_id', 'plan_id', 'since', 'until']),
        ...(filtersOf(req.query, ['status']) as Pick<OperationLogQuery, 'status'>),
      };
      return { operation_logs: await scheduling.listOperationLogs(requestContext(req), q) };
    },
  );
  app.get('/v1/:project_id/operation_logs/:id', { schema: { tags, params: idParams } }, async (req) => {
    return { operation_log: await scheduling.showOperationLog(requestContext(req), (req.params as Params).id) };
  });
}
