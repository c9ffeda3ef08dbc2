import type { FastifyRequest } from 'fastify';
import { bwkError } from '../core/errors.js';
import type { RequestContext } from '../protection-manager/request.js';
import type { AuthFailureLimiter } from './auth-failures.js';

export type Role = 'admin' | 'member';

/** Who a token belongs to: one project and a role. */
export interface Principal {
  tokenId: string;
  projectId: string;
  role: Role;
}

/** What checking a presented token found: who it is, or why it is refused. */
export type Verdict = { principal: Principal } | { refused: 'BWK_ERR_UNAUTHORIZED' | 'BWK_ERR_TOKEN_EXPIRED' };

/** The token port the API authenticates with (tokens are stored hashed; see src/store). */
export interface TokenVerifier {
  /** The principal of a presented token; refused when it is unknown, revoked or expired. */
  verify(token: string): Promise<Verdict>;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

/**
 * The request context of a `/v1/{project_id}/...` route. A member may only act in its own project;
 * another project's URL answers 404 — not 403 — so project ids cannot be probed. Admins may use any
 * project, and `all_tenants=1` on lists.
 */
export function requestContext(request: FastifyRequest): RequestContext {
  const principal = request.principal;
  if (!principal) throw bwkError('BWK_ERR_UNAUTHORIZED');
  const projectId = (request.params as { project_id?: string }).project_id ?? principal.projectId;
  if (principal.role !== 'admin' && projectId !== principal.projectId) throw bwkError('BWK_ERR_PROJECT_NOT_FOUND', { id: projectId });
  const allTenants = (request.query as { all_tenants?: unknown } | undefined)?.all_tenants;
  const wantsAll = allTenants === 1 || allTenants === '1' || allTenants === true || allTenants === 'true';
  if (wantsAll && principal.role !== 'admin') throw bwkError('BWK_ERR_FORBIDDEN', { reason: 'all_tenants=1 needs an admin token' });
  return {
    projectId,
    admin: principal.role === 'admin',
    allProjects: wantsAll,
    origin: { token_id: principal.tokenId, client_address: request.ip },
    ...(principal.role === 'admin' ? {} : { scoped: true }),
  };
}

/**
 * The onRequest hook: every /v1 route needs a valid X-Auth-Token. A missing, unknown or expired one
 * counts against the client address (src/api/auth-failures.ts); past the limit the answer is 429
 * with Retry-After instead of 401. A valid token is accepted before the limit is even looked at.
 */
export function authenticate(tokens: TokenVerifier, failures: AuthFailureLimiter) {
  return async (request: FastifyRequest): Promise<void> => {
    const header = request.headers['x-auth-token'];
    const token = Array.isArray(header) ? header[0] : header;
    const verdict: Verdict = token ? await tokens.verify(token) : { refused: 'BWK_ERR_UNAUTHORIZED' };
    if ('principal' in verdict) {
      request.principal = verdict.principal;
      return;
    }
    const retryAfter = failures.failed(request.ip);
    // Retry-After is set from the error's retry_after_s by the error handler (src/api/errors.ts).
    if (retryAfter !== null) throw bwkError('BWK_ERR_TOO_MANY_ATTEMPTS', { retry_after_s: retryAfter });
    throw bwkError(verdict.refused);
  };
}
