import type { FastifyInstance } from 'fastify';
import type { CheckpointRecord, CheckpointStatus } from '../../checkpoints/model.js';
import type { OperationEvents } from '../../protection-manager/events.js';
import type { ProtectionService, ResettableState } from '../../protection-manager/service.js';
import type { OperationStatus } from '../../store/records.js';
import { requestContext } from '../auth.js';
import {
  checkpointCopyBody,
  checkpointCreateBody,
  checkpointListQuery,
  checkpointUpdateBody,
  idParams,
  operationListQuery,
  providerIdParams,
  providerParams,
  restoreCreateBody,
  verificationCreateBody,
} from '../schemas.js';
import { operationEventRoutes } from './operation-events.js';
import { given } from './given.js';
import { dateOf, pageOf } from './paging.js';
import { waitingLong } from './bank.js';

type P = { project_id: string; provider_id: string; id: string };

/**
 * Karbor's API returns a checkpoint's resource_graph as a JSON string, and its client decodes it as
 * one; the CLI and RPC keep it an object (src/api/client.ts decodes it back).
 */
export const karborCheckpoint = (c: CheckpointRecord) => ({
  ...c,
  resource_graph: c.resource_graph === null ? null : JSON.stringify(c.resource_graph),
});

/** Checkpoints (protect, list, show, delete), restores, verifications and live operation events (operation logs: scheduling.ts). */
export function operationRoutes(app: FastifyInstance, service: ProtectionService, events: OperationEvents): void {
  checkpointRoutes(app, service);
  restoreRoutes(app, service);
  verificationRoutes(app, service);

  app.get('/v1/:project_id/operations/:id', { schema: { tags: ['operations'], params: idParams } }, async (req) => {
    const view = await service.showOperation(requestContext(req), (req.params as P).id);
    return { operation: view.kind === 'protect' ? { ...view, record: karborCheckpoint(view.record as CheckpointRecord) } : view };
  });
  app.post('/v1/:project_id/operations/:id/cancel', { schema: { tags: ['operations'], params: idParams } }, async (req, reply) => {
    await service.cancelOperation(requestContext(req), (req.params as P).id);
    return reply.status(202).send();
  });

  // Server-Sent Events: progress of one operation until it ends.
  operationEventRoutes(app, service, events);
}

/** The filters of a restore or verification list: a page, a status, a checkpoint. */
function operationListOf(query: unknown) {
  const q = query as { status?: OperationStatus; checkpoint_id?: string };
  return { ...pageOf(query), ...(q.status ? { status: q.status } : {}), ...(q.checkpoint_id ? { checkpointId: q.checkpoint_id } : {}) };
}

function checkpointRoutes(app: FastifyInstance, service: ProtectionService): void {
  const listSchema = { tags: ['checkpoints'], params: providerParams, querystring: checkpointListQuery };
  app.get('/v1/:project_id/providers/:provider_id/checkpoints', { schema: listSchema }, async (req) => {
    const q = req.query as { plan_id?: string; status?: CheckpointStatus; start_date?: string; end_date?: string };
    const since = dateOf('start_date', q.start_date);
    const until = dateOf('end_date', q.end_date);
    const checkpoints = await service.listCheckpoints(requestContext(req), {
      ...pageOf(req.query),
      providerId: (req.params as P).provider_id,
      ...(q.plan_id ? { planId: q.plan_id } : {}),
      ...(q.status ? { status: q.status } : {}),
      ...(since ? { since } : {}),
      ...(until ? { until } : {}),
    });
    return { checkpoints: checkpoints.map(karborCheckpoint) };
  });
  const createSchema = { tags: ['checkpoints'], params: providerParams, body: checkpointCreateBody };
  app.post('/v1/:project_id/providers/:provider_id/checkpoints', { schema: createSchema }, async (req, reply) => {
    const { checkpoint } = req.body as { checkpoint: { plan_id: string; operation_id?: string } };
    const provider_id = (req.params as P).provider_id;
    const created = await service.startProtect(requestContext(req), {
      plan_id: checkpoint.plan_id,
      provider_id,
      ...given(checkpoint, ['operation_id']),
    });
    return reply.status(202).send({ checkpoint: karborCheckpoint(created) });
  });
  const oneSchema = () => ({ tags: ['checkpoints'], params: providerIdParams });
  app.get('/v1/:project_id/providers/:provider_id/checkpoints/:id', { schema: oneSchema() }, async (req) => {
    const p = req.params as P;
    return { checkpoint: karborCheckpoint(await service.showCheckpoint(requestContext(req), p.id, p.provider_id)) };
  });
  // Karbor's os-resetState (admins only): 202 with the checkpoint as it now is.
  const resetSchema = { ...oneSchema(), body: checkpointUpdateBody };
  app.put('/v1/:project_id/providers/:provider_id/checkpoints/:id', { schema: resetSchema }, async (req, reply) => {
    const p = req.params as P;
    const { state } = (req.body as { 'os-resetState': { state: ResettableState } })['os-resetState'];
    const reset = await service.resetCheckpointState(requestContext(req), p.id, state, p.provider_id);
    return reply.status(202).send({ checkpoint: karborCheckpoint(reset) });
  });
  // Bulwark's copy to another provider's bank: answers with the copy once it is available (hours for a large one).
  const copySchema = {
    ...oneSchema(),
    body: checkpointCopyBody,
    description:
      'Copies the checkpoint into another provider\'s bank and answers {"checkpoint": copy} when the copy is available. ' +
      'Asking again resumes a copy cut short, or returns the finished one.',
  };
  app.post('/v1/:project_id/providers/:provider_id/checkpoints/:id/copy', { schema: copySchema }, async (req) => {
    const p = req.params as P;
    const { to_provider_id } = (req.body as { copy: { to_provider_id: string } }).copy;
    const input = { checkpoint_id: p.id, provider_id: p.provider_id, to_provider_id };
    return { checkpoint: karborCheckpoint(await waitingLong(req, () => service.copyCheckpoint(requestContext(req), input))) };
  });
  app.delete('/v1/:project_id/providers/:provider_id/checkpoints/:id', { schema: oneSchema() }, async (req, reply) => {
    const p = req.params as P;
    await service.deleteCheckpoint(requestContext(req), p.id, p.provider_id);
    return reply.status(202).send();
  });
}

function restoreRoutes(app: FastifyInstance, service: ProtectionService): void {
  app.get('/v1/:project_id/restores', { schema: { tags: ['restores'], querystring: operationListQuery } }, async (req) => {
    return { restores: await service.listRestores(requestContext(req), operationListOf(req.query)) };
  });
  app.post('/v1/:project_id/restores', { schema: { tags: ['restores'], body: restoreCreateBody } }, async (req, reply) => {
    const { restore } = req.body as {
      restore: {
        provider_id?: string;
        checkpoint_id: string;
        restore_target?: string | null;
        parameters?: Record<string, unknown>;
        operation_id?: string;
      };
    };
    const created = await service.startRestore(requestContext(req), {
      checkpoint_id: restore.checkpoint_id,
      ...given(restore, ['provider_id']),
      // Recorded as sent, even null or "": only an absent restore_target is left out.
      ...(restore.restore_target !== undefined ? { restore_target: restore.restore_target } : {}),
      ...given(restore, ['parameters', 'operation_id']),
    });
    return reply.status(202).send({ restore: created });
  });
  app.get('/v1/:project_id/restores/:id', { schema: { tags: ['restores'], params: idParams } }, async (req) => {
    return { restore: await service.showRestore(requestContext(req), (req.params as P).id) };
  });
}

function verificationRoutes(app: FastifyInstance, service: ProtectionService): void {
  app.get('/v1/:project_id/verifications', { schema: { tags: ['verifications'], querystring: operationListQuery } }, async (req) => {
    return { verifications: await service.listVerifications(requestContext(req), operationListOf(req.query)) };
  });
  app.post('/v1/:project_id/verifications', { schema: { tags: ['verifications'], body: verificationCreateBody } }, async (req, reply) => {
    const { verification } = req.body as {
      verification: { provider_id?: string; checkpoint_id: string; parameters?: Record<string, unknown>; operation_id?: string };
    };
    const created = await service.startVerify(requestContext(req), {
      checkpoint_id: verification.checkpoint_id,
      ...given(verification, ['provider_id', 'parameters', 'operation_id']),
    });
    return reply.status(202).send({ verification: created });
  });
  app.get('/v1/:project_id/verifications/:id', { schema: { tags: ['verifications'], params: idParams } }, async (req) => {
    return { verification: await service.showVerification(requestContext(req), (req.params as P).id) };
  });
}
