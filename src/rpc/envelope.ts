import { bwkError, fromErrorJSON, isErrorJSON, toErrorJSON, type ErrorJSON } from '../core/errors.js';
import type { RpcHandler } from './port.js';

/**
 * The wire format both adapters use, so the in-process transport round-trips through exactly the JSON the
 * AMQP one sends: a request `{method, params, meta}` and a reply `{ok, result}` or `{ok:false, error}`.
 */
export interface RpcRequest {
  method: string;
  params: unknown;
  meta: RequestMeta;
}

/** What a request says about its own delivery (port.ts: `idempotencyKey`, `atMostOnce`). */
export interface RequestMeta {
  idempotencyKey?: string;
  atMostOnce?: true;
}

export type RpcReply = { ok: true; result?: unknown } | { ok: false; error: ErrorJSON };

export const DEFAULT_CALL_TIMEOUT_MS = 30_000;
export const DEFAULT_PREFETCH = 10;
export const EVENTS_EXCHANGE = 'bulwark.events';

/** Serializes a request; non-JSON params (cycles, BigInt) are the caller's mistake, reported before sending. */
export function encodeRequest(method: string, params: unknown, options: { idempotencyKey?: string; atMostOnce?: boolean } = {}): string {
  if (typeof method !== 'string' || method === '')
    throw bwkError('BWK_ERR_INVALID_INPUT', { reason: 'RPC method must be a non-empty string' });
  const meta: RequestMeta = {
    ...(options.idempotencyKey !== undefined ? { idempotencyKey: options.idempotencyKey } : {}),
    ...(options.atMostOnce ? { atMostOnce: true } : {}),
  };
  try {
    return JSON.stringify({ method, params, meta });
  } catch (err) {
    throw bwkError('BWK_ERR_INVALID_INPUT', { reason: `RPC params for ${method} cannot be sent as JSON: ${(err as Error).message}` });
  }
}

/** A received message parsed, or `malformed(reason)` thrown: each side reports a bad message its own way. */
function parseMessage(text: string, what: string, malformed: (reason: string) => Error): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw malformed(`${what} is not JSON`);
  }
}

const invalidRequest = (reason: string): Error => bwkError('BWK_ERR_INVALID_INPUT', { reason });
const invalidReply = (reason: string): Error => bwkError('BWK_ERR_INTERNAL', { reason });

/** Parses a request a server received; anything malformed is answered with BWK_ERR_INVALID_INPUT, not retried. */
export function decodeRequest(text: string): RpcRequest {
  const v = parseMessage(text, 'RPC request', invalidRequest) as Partial<RpcRequest> | null;
  if (typeof v !== 'object' || v === null || typeof v.method !== 'string' || typeof v.meta !== 'object' || v.meta === null) {
    throw invalidRequest('RPC request must be {method, params, meta}');
  }
  const key = v.meta.idempotencyKey;
  if (key !== undefined && typeof key !== 'string') throw invalidRequest('RPC idempotencyKey must be a string');
  const meta: RequestMeta = {
    ...(key === undefined ? {} : { idempotencyKey: key }),
    ...(v.meta.atMostOnce === true ? { atMostOnce: true } : {}),
  };
  return { method: v.method, params: v.params, meta };
}

/** Runs `handler` and captures its outcome as a reply; never rejects, so a handler bug cannot crash a server. */
export async function invokeHandler(handler: RpcHandler, request: RpcRequest): Promise<RpcReply> {
  try {
    const result = await handler(request.method, request.params, { ...request.meta });
    const text = JSON.stringify(result);
    return text === undefined ? { ok: true } : { ok: true, result: JSON.parse(text) as unknown };
  } catch (err) {
    return { ok: false, error: toErrorJSON(err) };
  }
}

export const errorReply = (err: unknown): RpcReply => ({ ok: false, error: toErrorJSON(err) });

export function encodeReply(reply: RpcReply): string {
  return JSON.stringify(reply);
}

/** The caller's side of a reply: the result, or the handler's error rebuilt so `code` survives. */
export function settleReply(text: string): unknown {
  const r = parseMessage(text, 'RPC reply', invalidReply) as Partial<{ ok: boolean; result: unknown; error: unknown }> | null;
  if (r?.ok === true) return r.result;
  if (r?.ok === false && isErrorJSON(r.error)) throw fromErrorJSON(r.error);
  throw invalidReply('RPC reply must be {ok, result} or {ok: false, error}');
}

/** Event payloads are copied through JSON like everything else; undefined travels as null. */
export function encodeEvent(event: unknown): string {
  return JSON.stringify(event) ?? 'null';
}
