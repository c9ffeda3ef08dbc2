/**
 * What the HTTP clients of the REST API share (HttpProtectionService, HttpSchedulingService): one
 * server's base URL and token, requests with the token on each, bodies under one key Karbor's way,
 * and the server's `{code, message}` turned back into the coded error it was.
 */
import { bwkError, fromErrorJSON, isErrorJSON } from '../core/errors.js';
import type { RequestContext } from '../protection-manager/request.js';
import { agentsFor, sendRequest, unreachable, type HttpResponse } from './http-request.js';
import { streamOperationEvents } from './event-stream-client.js';
import type { OperationEvent } from '../protection-manager/events.js';

const NOT_JSON = Symbol('not JSON');

/** The body as JSON; undefined when empty; NOT_JSON when it is something else (a proxy's HTML page). */
function parseBody(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return NOT_JSON;
  }
}

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** How long a request may take by default. */
export const REQUEST_TIMEOUT_MS = 120_000;
/**
 * The requests that answer when long work is done (bank check and gc): no limit of the client's own
 * worth speaking of (setTimeout's largest, ~24 days); the server bounds the call (rpc.long_timeout_ms).
 */
export const LONG_REQUEST_TIMEOUT_MS = 2 ** 31 - 1;

export class ApiTransport {
  private readonly agents: ReturnType<typeof agentsFor>;

  /** `ca`: the PEM CA bundle to trust for an https URL instead of the system's (`--ca-file`). */
  constructor(
    readonly base: string,
    private readonly token: string,
    ca?: Buffer,
  ) {
    this.agents = agentsFor(ca);
  }

  /** One request; the parsed answer (undefined when it has no body), or the server's coded error. */
  async request(method: Method, path: string, body?: unknown, timeoutMs = REQUEST_TIMEOUT_MS): Promise<unknown> {
    let res: HttpResponse;
    try {
      res = await sendRequest(new URL(path, this.base), this.agents, {
        method,
        headers: { 'x-auth-token': this.token, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        timeoutMs,
      });
    } catch (err) {
      throw unreachable(this.base, err as NodeJS.ErrnoException);
    }
    const json = parseBody(res.text);
    if (res.status >= 200 && res.status <= 299 && json !== NOT_JSON) return json;
    if (isErrorJSON(json)) throw fromErrorJSON(json);
    // No Bulwark answer: a proxy in front saying its upstream is down (502-504) is the API being unreachable.
    if (res.status >= 502 && res.status <= 504)
      throw bwkError('BWK_ERR_SERVICE_UNAVAILABLE', { url: this.base, reason: `HTTP ${res.status} from a proxy in front of it` });
    throw bwkError('BWK_ERR_INTERNAL', { reason: `HTTP ${res.status} from ${this.base} without a Bulwark answer` });
  }

  /** Follows the event stream at `path` (SSE); the returned function closes it. */
  events(path: string, listener: (e: OperationEvent) => void): () => void {
    return streamOperationEvents(new URL(path, this.base), this.token, this.agents, listener);
  }

  /** The API puts every body under one key, Karbor's way (`{"plan": {...}}`): the value under `key`. */
  async unwrap<T>(key: string, method: Method, path: string, body?: unknown, timeoutMs?: number): Promise<T> {
    return ((await this.request(method, path, body, timeoutMs)) as Record<string, T>)[key] as T;
  }

  /** `/v1/<project><rest>?<query>`: undefined values left out, dates as ISO 8601, all_tenants for an all-projects context. */
  path(ctx: RequestContext, rest: string, query: Record<string, unknown> = {}): string {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries({ ...query, ...(ctx.allProjects ? { all_tenants: 1 } : {}) }) as Array<[string, unknown]>) {
      if (v !== undefined) qs.set(k, v instanceof Date ? v.toISOString() : String(v));
    }
    const s = qs.toString();
    return `/v1/${encodeURIComponent(ctx.projectId)}${rest}${s ? `?${s}` : ''}`;
  }
}

/** Karbor's paging query: `limit`, `marker`, `sort=created_at:asc|desc`. */
export function pageQuery(q: { limit?: number; marker?: string; sort?: 'asc' | 'desc' } = {}) {
  return { limit: q.limit, marker: q.marker, sort: q.sort ? `created_at:${q.sort}` : undefined };
}
