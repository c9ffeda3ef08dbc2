/**
 * How long a client may take and how many it may be: the API server's timeouts and connection cap.
 * Each one closes a way a few slow or idle sockets could hold the service (a body dripping one byte
 * every 20 s, headers never finished, thousands of idle keep-alive connections).
 */
import type { Server } from 'node:http';
import type { FastifyHttpOptions, FastifyInstance } from 'fastify';
import type { BulwarkConfig } from '../common/config.js';
import { validateConfig } from '../common/config.js';

export type ApiLimits = Omit<BulwarkConfig['api'], 'host' | 'port' | 'tls'>;

/** `limits` over the configuration's defaults (the one place defaults live), for callers that set only some. */
export function withDefaultLimits(limits: Partial<ApiLimits>): ApiLimits {
  return { ...validateConfig({}, '(defaults)').api, ...limits };
}

/**
 * Fastify's server options for `limits`. Node's request and headers timeouts bound *receiving* a
 * request (headers, then the whole body); once it is in, the response may take as long as it takes,
 * so slow handlers and Server-Sent Events are not cut. The idle timeout is socket inactivity in
 * either direction (a client that stops reading a response); streams opt out (see `keepStreamOpen`).
 */
export function serverLimits(limits: ApiLimits): FastifyHttpOptions<Server> {
  const requestTimeout = limits.request_timeout_ms;
  // Node refuses a headers timeout longer than the request timeout: headers are part of the request.
  const headersTimeout = Math.min(limits.headers_timeout_ms, requestTimeout);
  return {
    bodyLimit: limits.body_limit_bytes,
    connectionTimeout: limits.idle_timeout_ms,
    keepAliveTimeout: limits.keep_alive_timeout_ms,
    requestTimeout,
    // Node checks the two timeouts every connectionsCheckingInterval (30 s by default): check often
    // enough that a timeout is enforced close to the configured time.
    http: { headersTimeout, requestTimeout, connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(headersTimeout / 4))) },
  };
}

/** The connection cap: Node closes connections past `max_connections` as soon as they are accepted. */
export function capConnections(app: FastifyInstance, limits: ApiLimits): void {
  app.server.maxConnections = limits.max_connections;
}

/**
 * A reply sent before its request body has all arrived (a 401 from the token check, a 413, any
 * error) closes the connection: otherwise Node keeps reading, and a client dripping the rest of the
 * body holds the socket open for as long as it likes.
 */
export function closeUnfinishedRequests(app: FastifyInstance): void {
  app.addHook('onSend', async (request, reply) => {
    if (!request.raw.complete) void reply.header('connection', 'close');
  });
}

/** A long-lived response (Server-Sent Events) is exempt from the idle timeout: events may be minutes apart. */
export function keepStreamOpen(socket: { setTimeout(ms: number): unknown } | null): void {
  socket?.setTimeout(0);
}
