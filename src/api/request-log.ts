import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from '../common/logging.js';

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * The onResponse hook that makes every mutating request attributable: one structured line with the
 * token's id (never its secret: headers are not logged) and the client address, whatever the
 * outcome — refused requests too, with no token id when none was valid. The route pattern is logged,
 * not the URL, so ids in the path are not repeated and query strings are never written.
 */
export function logMutatingRequests(logger: Logger) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (!MUTATING.has(request.method)) return;
    logger.info('API request', {
      request_id: request.id,
      method: request.method,
      route: request.routeOptions.url ?? null,
      project_id: (request.params as { project_id?: string } | undefined)?.project_id ?? null,
      status: reply.statusCode,
      token_id: request.principal?.tokenId ?? null,
      client_address: request.ip,
    });
  };
}
