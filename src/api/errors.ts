import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { ErrorObject } from 'ajv';
import { bwkError, toBulwarkError } from '../core/errors.js';
import type { Logger } from '../common/logging.js';
import { errorBody } from './error-body.js';
import { frameworkError } from './fastify-errors.js';
import { publicMessage, sentPaths, type ServerPlaces } from './public-message.js';

export { errorBody } from './error-body.js';

/**
 * Every error leaves the API as `{code, message}` with the registry's HTTP status. Framework errors
 * (malformed JSON, body too large, schema violations) are mapped to coded 400s first. An error with
 * no registry code (ENOENT, ELOOP, a bug) is a generic 500 naming the request id, and the log has
 * the rest; coded messages lose the server paths the caller did not send (src/api/public-message.ts).
 */
export function errorHandler(logger: Logger, places: ServerPlaces) {
  return (
    err: FastifyError & { validation?: ErrorObject[]; validationContext?: string },
    request: FastifyRequest,
    reply: FastifyReply,
  ): void => {
    const e = frameworkError(err, request) ?? toBulwarkError(err);
    const internal = e.code === 'BWK_ERR_INTERNAL';
    const message = internal
      ? bwkError('BWK_ERR_INTERNAL', {
          reason: `the request failed unexpectedly; the server log has the details under request id ${request.id}`,
        }).message
      : publicMessage(e.message, sentPaths(request), places);
    if (e.status >= 500 || message !== e.message)
      logger[e.status >= 500 ? 'error' : 'info']('API request failed', {
        request_id: request.id,
        method: request.method,
        url: request.routeOptions.url,
        code: e.code,
        error: e.message,
      });
    // A 429 says when to come back (src/api/auth.ts); HTTP clients and proxies read it from the header.
    if (e.code === 'BWK_ERR_TOO_MANY_ATTEMPTS') void reply.header('retry-after', String(e.details.retry_after_s));
    void reply.status(e.status).send(errorBody(e.code, message));
  };
}
