import type { FastifyRequest } from 'fastify';
import { bwkError } from '../core/errors.js';
import type { RequestContext } from '../protection-manager/request.js';

export type Role = 'admin' | 'member';

/** Who a token belongs to: one project and a role. */
export interface Principal {
  tokenId: string;
  projectId: string;
  role: Role;
}

/** The token port the API authenticates with (tokens are stored hashed; see src/store). */
export interface TokenVerifier {
  /** The principal of a presented token, or null when it is unknown or revoked. */
  verify(token: string): Promise<Principal | null>;
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
  return { projectId, admin: principal.role === 'admin', allProjects: wantsAll };
}

/** The onRequest hook: every /v1 route needs a valid X-Auth-Token. */
export function authenticate(tokens: TokenVerifier) {
  return async (request: FastifyRequest): Promise<void> => {
    const header = request.headers['x-auth-token'];
    const token = Array.isArray(header) ? header[0] : header;
    if (!token) throw bwkError('BWK_ERR_UNAUTHORIZED');
    const principal = await tokens.verify(token);
    if (!principal) throw bwkError('BWK_ERR_UNAUTHORIZED');
    request.principal = principal;
  };
}
