/**
 * Errors Fastify and Node's HTTP parser raise themselves — before a route runs, or with no route at
 * all — as coded Bulwark errors, so every answer the API gives has the same `{code, message}` body.
 */
import { maxHeaderSize, STATUS_CODES, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { ErrorObject } from 'ajv';
import { bwkError, type BulwarkError } from '../core/errors.js';
import { describeSchemaError, sortSchemaErrors } from '../common/schema.js';
import { errorBody } from './error-body.js';
import type { ApiLimits } from './limits.js';

/** A Fastify error, or a schema violation, as the coded error it means; undefined for anything else. */
export function frameworkError(
  err: FastifyError & { validation?: ErrorObject[]; validationContext?: string },
  request: FastifyRequest,
): BulwarkError | undefined {
  if (err.validation) {
    const first = sortSchemaErrors(err.validation)[0];
    const where = err.validationContext ?? 'request';
    return bwkError('BWK_ERR_INVALID_INPUT', { reason: `${where}: ${first ? describeSchemaError(first) : err.message}` });
  }
  if (
    err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' ||
    err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' ||
    (err.statusCode === 400 && err instanceof SyntaxError)
  )
    return bwkError('BWK_ERR_INVALID_INPUT', { reason: `the body is not valid JSON: ${err.message}` });
  if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return bwkError('BWK_ERR_BODY_TOO_LARGE', { limit: request.routeOptions.bodyLimit ?? 0 });
  if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE')
    return bwkError('BWK_ERR_INVALID_INPUT', { reason: 'send JSON with Content-Type: application/json' });
  if (err.code === 'FST_ERR_BAD_URL')
    return bwkError('BWK_ERR_INVALID_INPUT', { reason: 'the URL is not valid: every % must start a percent-encoded byte, such as %2F' });
  if (err.code === 'FST_ERR_MAX_PARAM_LENGTH')
    return bwkError('BWK_ERR_INVALID_INPUT', { reason: 'a path parameter of the URL is too long' });
  // Any other request error Fastify raises itself (a Content-Length that does not match the body...).
  if (typeof err.code === 'string' && err.code.startsWith('FST_') && (err.statusCode ?? 500) < 500)
    return bwkError('BWK_ERR_INVALID_INPUT', { reason: err.message });
  return undefined;
}

/** Fastify's `frameworkErrors` option: a bad URL or an over-long parameter, found before routing. */
export function frameworkErrorHandler(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const e = frameworkError(err, request) ?? bwkError('BWK_ERR_INVALID_INPUT', { reason: err.message });
  void reply.status(e.status).send(errorBody(e.code, e.message));
}

/** The coded error for a request Node's HTTP parser gave up on (clientError). */
function clientError(err: NodeJS.ErrnoException, limits: ApiLimits): BulwarkError {
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT')
    return bwkError('BWK_ERR_REQUEST_TIMEOUT', {
      timeout_ms: limits.request_timeout_ms,
      headers_timeout_ms: Math.min(limits.headers_timeout_ms, limits.request_timeout_ms),
    });
  if (err.code === 'HPE_HEADER_OVERFLOW') return bwkError('BWK_ERR_HEADERS_TOO_LARGE', { limit: maxHeaderSize });
  return bwkError('BWK_ERR_INVALID_INPUT', { reason: `the request is not valid HTTP/1.1 (${err.code ?? 'parse error'})` });
}

/**
 * Fastify's `clientErrorHandler`: Node found the request unreadable (malformed, headers too large, or
 * not received in time) and there is no request object to reply through, so the response is written
 * to the socket by hand — as Node's own handler does — and the connection closed.
 */
export function clientErrorHandler(limits: ApiLimits) {
  return (err: NodeJS.ErrnoException, socket: Duplex): void => {
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    const inFlight = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage;
    if (socket.writable && !inFlight?.headersSent) {
      const e = clientError(err, limits);
      const body = JSON.stringify(errorBody(e.code, e.message));
      socket.write(
        `HTTP/1.1 ${e.status} ${STATUS_CODES[e.status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    }
    socket.destroy();
  };
}
