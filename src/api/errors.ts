import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { ErrorObject } from 'ajv';
import { bwkError, toBulwarkError } from '../core/errors.js';
import type { Logger } from '../common/logging.js';
import { describeSchemaError, sortSchemaErrors } from '../common/schema.js';

/**
 * `{code, message}`, preceded by the same pair under `error`: OpenStack clients (Karbor's
 * python-karborclient) read the message from the body's first value, which must be an object.
 */
export const errorBody = (code: string, message: string) => ({ error: { code, message }, code, message });

/**
 * Every error leaves the API as `{code, message}` with the registry's HTTP status. Framework errors
 * (malformed JSON, body too large, schema violations) are mapped to coded 400s first.
 */
export function errorHandler(logger: Logger) {
  return (
    err: FastifyError & { validation?: ErrorObject[]; validationContext?: string },
    request: FastifyRequest,
    reply: FastifyReply,
  ): void => {
    let e;
    if (err.validation) {
      const first = sortSchemaErrors(err.validation)[0];
      const where = err.validationContext ?? 'request';
      e = bwkError('BWK_ERR_INVALID_INPUT', { reason: `${where}: ${first ? describeSchemaError(first) : err.message}` });
    } else if (
      err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' ||
      err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' ||
      (err.statusCode === 400 && err instanceof SyntaxError)
    ) {
      e = bwkError('BWK_ERR_INVALID_INPUT', { reason: `the body is not valid JSON: ${err.message}` });
    } else if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      e = bwkError('BWK_ERR_BODY_TOO_LARGE', { limit: request.routeOptions.bodyLimit ?? 0 });
    } else if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      e = bwkError('BWK_ERR_INVALID_INPUT', { reason: 'send JSON with Content-Type: application/json' });
    } else {
      e = toBulwarkError(err);
    }
    if (e.status >= 500)
      logger.error('API request failed', { method: request.method, url: request.routeOptions.url, code: e.code, error: e.message });
    void reply.status(e.status).send(errorBody(e.code, e.message));
  };
}
