import { bwkError } from '../core/errors.js';
import type { Logger } from '../common/logging.js';
import type { OperationEvents } from '../protection-manager/events.js';
import type { RequestContext } from '../protection-manager/request.js';
import type { ProtectionService } from '../protection-manager/service.js';
import type { RpcServer, RpcTransport } from './port.js';

/**
 * The protection service over RPC. Method names are Karbor's RPC vocabulary (`execute_operation`,
 * `list_checkpoints`...); every call carries the caller's RequestContext, checked again here, so a
 * message on the queue cannot act outside the project it names.
 */
type Call = { ctx: RequestContext; args: unknown[] };

const METHODS = {
  list_providers: 'listProviders', show_provider: 'showProvider',
  list_protectable_types: 'protectableTypes', show_protectable_type: 'showProtectableType',
  list_protectable_instances: 'listProtectableInstances', show_protectable_instance: 'showProtectableInstance',
  create_plan: 'createPlan', list_plans: 'listPlans', show_plan: 'showPlan', update_plan: 'updatePlan', delete_plan: 'deletePlan',
  list_checkpoints: 'listCheckpoints', show_checkpoint: 'showCheckpoint', delete_checkpoint: 'deleteCheckpoint',
  list_restores: 'listRestores', show_restore: 'showRestore', list_verifications: 'listVerifications', show_verification: 'showVerification',
  show_operation: 'showOperation', cancel_operation: 'cancelOperation', list_operation_logs: 'listOperationLogs',
} as const satisfies Record<string, keyof ProtectionService>;

type Kind = 'protect' | 'restore' | 'verify';

function checkCtx(value: unknown): RequestContext {
  const c = value as RequestContext | undefined;
  if (!c || typeof c.projectId !== 'string' || typeof c.admin !== 'boolean') throw bwkError('BWK_ERR_INVALID_INPUT', { reason: 'RPC call without a request context' });
  return { projectId: c.projectId, admin: c.admin, ...(c.admin && c.allProjects ? { allProjects: true } : {}) };
}

/** Dates travel as ISO strings; the checkpoint query wants them back as Dates. */
function reviveQuery(q: unknown): unknown {
  if (!q || typeof q !== 'object') return q;
  const out = { ...(q as Record<string, unknown>) };
  for (const k of ['since', 'until']) if (typeof out[k] === 'string') out[k] = new Date(out[k] as string);
  return out;
}

/** Serves a ProtectionService on `queue` (competing consumers: run several protection-service processes). */
export function serveProtection(transport: RpcTransport, queue: string, service: ProtectionService, logger: Logger, options: { prefetch?: number } = {}): Promise<RpcServer> {
  return transport.serve(queue, async (method, params) => {
    const { ctx: rawCtx, args = [] } = (params ?? {}) as Partial<Call>;
    const ctx = checkCtx(rawCtx);
    if (method === 'execute_operation') {
      // The caller's operation id is the idempotency key: a redelivery finds the first run (see ProtectionManager.protect).
      const [kind, input] = args as [Kind, Record<string, unknown>];
      logger.info('execute_operation', { kind, project: ctx.projectId, operation: input?.operation_id });
      if (kind === 'protect') return service.startProtect(ctx, input as { plan_id: string; operation_id?: string });
      if (kind === 'restore') return service.startRestore(ctx, input as unknown as Parameters<ProtectionService['startRestore']>[1]);
      if (kind === 'verify') return service.startVerify(ctx, input as unknown as Parameters<ProtectionService['startVerify']>[1]);
      throw bwkError('BWK_ERR_INVALID_INPUT', { reason: `execute_operation kind must be protect, restore or verify, not ${JSON.stringify(kind)}` });
    }
    const name = (METHODS as Record<string, keyof ProtectionService>)[method];
    if (!name) throw bwkError('BWK_ERR_RPC_METHOD_UNKNOWN', { method });
    const fn = service[name] as (ctx: RequestContext, ...a: unknown[]) => Promise<unknown>;
    return fn.call(service, ctx, ...(method === 'list_checkpoints' ? [reviveQuery(args[0]), ...args.slice(1)] : args));
  }, options);
}

/** A ProtectionService that is a client of serveProtection. */
export class RpcProtectionService implements ProtectionService {
  constructor(private readonly transport: RpcTransport, private readonly queue: string, private readonly timeoutMs: number) {}

  private call<T>(method: string, ctx: RequestContext, args: unknown[], idempotencyKey?: string): Promise<T> {
    return this.transport.call<T>(this.queue, method, { ctx, args }, { timeoutMs: this.timeoutMs, ...(idempotencyKey ? { idempotencyKey } : {}) });
  }

  listProviders(ctx: RequestContext) { return this.call<Awaited<ReturnType<ProtectionService['listProviders']>>>('list_providers', ctx, []); }
  showProvider(ctx: RequestContext, id: string) { return this.call<Awaited<ReturnType<ProtectionService['showProvider']>>>('show_provider', ctx, [id]); }
  protectableTypes(ctx: RequestContext) { return this.call<string[]>('list_protectable_types', ctx, []); }
  showProtectableType(ctx: RequestContext, type: string) { return this.call<{ name: string; dependent_types: string[] }>('show_protectable_type', ctx, [type]); }
  listProtectableInstances(ctx: RequestContext, type: string, parameters: unknown) { return this.call<Awaited<ReturnType<ProtectionService['listProtectableInstances']>>>('list_protectable_instances', ctx, [type, parameters]); }
  showProtectableInstance(ctx: RequestContext, type: string, id: string) { return this.call<Awaited<ReturnType<ProtectionService['showProtectableInstance']>>>('show_protectable_instance', ctx, [type, id]); }
  createPlan(ctx: RequestContext, input: Parameters<ProtectionService['createPlan']>[1]) { return this.call<Awaited<ReturnType<ProtectionService['createPlan']>>>('create_plan', ctx, [input]); }
  listPlans(ctx: RequestContext, q?: Parameters<ProtectionService['listPlans']>[1]) { return this.call<Awaited<ReturnType<ProtectionService['listPlans']>>>('list_plans', ctx, [q ?? {}]); }
  showPlan(ctx: RequestContext, id: string) { return this.call<Awaited<ReturnType<ProtectionService['showPlan']>>>('show_plan', ctx, [id]); }
  updatePlan(ctx: RequestContext, id: string, patch: Parameters<ProtectionService['updatePlan']>[2]) { return this.call<Awaited<ReturnType<ProtectionService['updatePlan']>>>('update_plan', ctx, [id, patch]); }
  deletePlan(ctx: RequestContext, id: string) { return this.call<void>('delete_plan', ctx, [id]); }
  startProtect(ctx: RequestContext, input: Parameters<ProtectionService['startProtect']>[1]) {
    const withId = { ...input, operation_id: input.operation_id ?? crypto.randomUUID() };
    return this.call<Awaited<ReturnType<ProtectionService['startProtect']>>>('execute_operation', ctx, ['protect', withId], withId.operation_id);
  }
  listCheckpoints(ctx: RequestContext, q: Parameters<ProtectionService['listCheckpoints']>[1]) { return this.call<Awaited<ReturnType<ProtectionService['listCheckpoints']>>>('list_checkpoints', ctx, [q]); }
  showCheckpoint(ctx: RequestContext, id: string, providerId?: string) { return this.call<Awaited<ReturnType<ProtectionService['showCheckpoint']>>>('show_checkpoint', ctx, [id, providerId]); }
  deleteCheckpoint(ctx: RequestContext, id: string, providerId?: string) { return this.call<void>('delete_checkpoint', ctx, [id, providerId]); }
  startRestore(ctx: RequestContext, input: Parameters<ProtectionService['startRestore']>[1]) {
    const withId = { ...input, operation_id: input.operation_id ?? crypto.randomUUID() };
    return this.call<Awaited<ReturnType<ProtectionService['startRestore']>>>('execute_operation', ctx, ['restore', withId], withId.operation_id);
  }
  listRestores(ctx: RequestContext, q?: Parameters<ProtectionService['listRestores']>[1]) { return this.call<Awaited<ReturnType<ProtectionService['listRestores']>>>('list_restores', ctx, [q ?? {}]); }
  showRestore(ctx: RequestContext, id: string) { return this.call<Awaited<ReturnType<ProtectionService['showRestore']>>>('show_restore', ctx, [id]); }
  startVerify(ctx: RequestContext, input: Parameters<ProtectionService['startVerify']>[1]) {
    const withId = { ...input, operation_id: input.operation_id ?? crypto.randomUUID() };
    return this.call<Awaited<ReturnType<ProtectionService['startVerify']>>>('execute_operation', ctx, ['verify', withId], withId.operation_id);
  }
  listVerifications(ctx: RequestContext, q?: Parameters<ProtectionService['listVerifications']>[1]) { return this.call<Awaited<ReturnType<ProtectionService['listVerifications']>>>('list_verifications', ctx, [q ?? {}]); }
  showVerification(ctx: RequestContext, id: string) { return this.call<Awaited<ReturnType<ProtectionService['showVerification']>>>('show_verification', ctx, [id]); }
  showOperation(ctx: RequestContext, id: string) { return this.call<Awaited<ReturnType<ProtectionService['showOperation']>>>('show_operation', ctx, [id]); }
  cancelOperation(ctx: RequestContext, id: string) { return this.call<void>('cancel_operation', ctx, [id]); }
  listOperationLogs(ctx: RequestContext, q?: Parameters<ProtectionService['listOperationLogs']>[1]) { return this.call<Awaited<ReturnType<ProtectionService['listOperationLogs']>>>('list_operation_logs', ctx, [q ?? {}]); }
}

/**
 * Publishes a process's operation events on `bulwark.events`: every event as `operation.<type>`
 * (the API's SSE streams follow them), and status changes as `checkpoint.<status>`,
 * `restore.<status>`, `verification.<status>` for anyone to subscribe.
 */
export function bridgeEventsOut(events: OperationEvents, transport: RpcTransport): () => void {
  const noun: Record<string, string> = { protect: 'checkpoint', delete: 'checkpoint', restore: 'restore', verify: 'verification' };
  return events.subscribe((e) => {
    void transport.publish(`operation.${e.type}`, e);
    if (e.type === 'operation_started') void transport.publish(`${noun[e.kind]}.${e.kind === 'protect' ? 'protecting' : e.kind === 'delete' ? 'deleting' : 'in_progress'}`, { id: e.operationId, kind: e.kind });
    if (e.type === 'operation_finished') void transport.publish(`${noun[e.kind]}.${e.status}`, { id: e.operationId, kind: e.kind, status: e.status, ...(e.reason ? { reason: e.reason } : {}) });
  });
}

/** Feeds events published by protection services into a local bus (the API process's SSE). */
export async function bridgeEventsIn(transport: RpcTransport, events: OperationEvents): Promise<() => Promise<void>> {
  return transport.subscribe('operation.#', (_key, e) => events.publish(e as Parameters<OperationEvents['publish']>[0]));
}
