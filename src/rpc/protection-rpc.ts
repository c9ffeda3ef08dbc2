/**
 * The protection service over RPC, both ends derived from one method table (service-methods.ts).
 * Method names are Karbor's RPC vocabulary (`execute_operation`, `list_checkpoints`...); every call
 * carries the caller's RequestContext, checked again by the server, so a message on the queue cannot
 * act outside the project it names.
 */
import { randomUUID } from 'node:crypto';
import { bwkError } from '../core/errors.js';
import type { Logger } from '../common/logging.js';
import type { RequestContext, RequestOrigin } from '../protection-manager/request.js';
import {
  SERVICE_METHOD_NAMES,
  SERVICE_METHODS,
  type MethodSpec,
  type OperationStartKind,
  type ServiceMethod,
} from '../protection-manager/service-methods.js';
import type { ProtectionService } from '../protection-manager/service.js';
import type { CallOptions, RpcServer, RpcTransport } from './port.js';

type Call = { ctx: RequestContext; args: unknown[] };

const specOf = (name: ServiceMethod): MethodSpec => SERVICE_METHODS[name];
const BY_RPC = new Map(SERVICE_METHOD_NAMES.filter((n) => !specOf(n).operation).map((n) => [specOf(n).rpc, n]));
const STARTS = new Map(SERVICE_METHOD_NAMES.filter((n) => specOf(n).operation).map((n) => [specOf(n).operation!, n]));
/** `protect, restore or verify`. */
const START_KINDS = [...STARTS.keys()].join(', ').replace(/, ([^,]*)$/, ' or $1');
const KNOWN = [...new Set(SERVICE_METHOD_NAMES.map((n) => specOf(n).rpc))].sort().join(', ');

function checkCtx(value: unknown): RequestContext {
  const c = value as RequestContext | undefined;
  if (!c || typeof c.projectId !== 'string' || typeof c.admin !== 'boolean')
    throw bwkError('BWK_ERR_INVALID_INPUT', { reason: 'RPC call without a request context' });
  return {
    projectId: c.projectId,
    admin: c.admin,
    ...(c.admin && c.allProjects ? { allProjects: true } : {}),
    // Fails closed: a member request from an api build that does not send the flag is still scoped.
    ...((c.scoped ?? !c.admin) ? { scoped: true } : {}),
    ...originOf(c.origin),
  };
}

/**
 * The caller's token id and address, kept only when both are strings (bounded in length): messages
 * from builds before issue 15 carry none, and a malformed one is dropped rather than refusing the call.
 */
function originOf(o: unknown): { origin?: RequestOrigin } {
  const { token_id, client_address } = (o ?? {}) as Partial<RequestOrigin>;
  const ok = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= 200;
  return ok(token_id) && ok(client_address) ? { origin: { token_id, client_address } } : {};
}

/** The service method an RPC request names, and its arguments. */
function methodOf(method: string, args: unknown[], queue: string): [ServiceMethod, unknown[]] {
  if (method === 'execute_operation') {
    const [kind, input] = args;
    const name = STARTS.get(kind as OperationStartKind);
    if (!name)
      throw bwkError('BWK_ERR_INVALID_INPUT', {
        reason: `execute_operation kind must be ${START_KINDS}, not ${JSON.stringify(kind)}`,
      });
    return [name, [input]];
  }
  const name = BY_RPC.get(method);
  if (!name) throw bwkError('BWK_ERR_RPC_METHOD_UNKNOWN', { method, queue, known: KNOWN });
  return [name, args];
}

/** Serves a ProtectionService on `queue` (competing consumers: run several protection-service processes). */
export function serveProtection(
  transport: RpcTransport,
  queue: string,
  service: ProtectionService,
  logger: Logger,
  options: { prefetch?: number } = {},
): Promise<RpcServer> {
  return transport.serve(
    queue,
    async (method, params) => {
      const { ctx: rawCtx, args = [] } = (params ?? {}) as Partial<Call>;
      const ctx = checkCtx(rawCtx);
      const [name, callArgs] = methodOf(method, Array.isArray(args) ? args : [], queue);
      const spec = specOf(name);
      // The caller's operation id is the idempotency key: a redelivery finds the first run (ProtectionManager).
      if (spec.operation)
        logger.info('execute_operation', {
          kind: spec.operation,
          project: ctx.projectId,
          operation: (callArgs[0] as { operation_id?: string } | undefined)?.operation_id,
        });
      const fn = service[name] as (ctx: RequestContext, ...a: unknown[]) => Promise<unknown>;
      return fn.call(service, ctx, ...(spec.revive ? spec.revive(callArgs) : callArgs));
    },
    options,
  );
}

/** Trailing arguments left out by the caller are not sent (JSON would make them null). */
function toWire(args: unknown[]): unknown[] {
  let end = args.length;
  while (end > 0 && args[end - 1] === undefined) end--;
  return args.slice(0, end);
}

/**
 * A ProtectionService that is a client of serveProtection. A start without an operation id gets one
 * here, used as the RPC idempotency key, so a retried call cannot start the operation twice.
 *
 * A `long` method (bank upkeep) waits `longTimeoutMs` (rpc.long_timeout_ms) and is sent at most once
 * (port.ts): the server acks it on receipt, so neither RabbitMQ's consumer timeout nor a reconnection
 * redelivers it and starts the work over beside the first run. The price: if the protection service
 * dies while it runs, no reply comes and the call fails BWK_ERR_RPC_TIMEOUT only at `longTimeoutMs`.
 * Its random idempotency key lets the server share one run should an ack be lost in a connection drop.
 */
export function rpcProtectionService(
  transport: RpcTransport,
  queue: string,
  timeoutMs: number,
  longTimeoutMs: number = timeoutMs,
): ProtectionService {
  const call = (method: string, ctx: RequestContext, args: unknown[], options: CallOptions = {}): Promise<unknown> =>
    transport.call(queue, method, { ctx, args }, { timeoutMs, ...options });
  const methods = SERVICE_METHOD_NAMES.map((name) => {
    const { rpc, operation, long } = specOf(name);
    const fn = operation
      ? (ctx: RequestContext, input: { operation_id?: string }) => {
          const withId = { ...input, operation_id: input.operation_id ?? randomUUID() };
          return call(rpc, ctx, [operation, withId], { idempotencyKey: withId.operation_id });
        }
      : long
        ? (ctx: RequestContext, ...args: unknown[]) =>
            call(rpc, ctx, toWire(args), { timeoutMs: longTimeoutMs, atMostOnce: true, idempotencyKey: randomUUID() })
        : (ctx: RequestContext, ...args: unknown[]) => call(rpc, ctx, toWire(args));
    return [name, fn] as const;
  });
  return Object.fromEntries(methods) as unknown as ProtectionService;
}
