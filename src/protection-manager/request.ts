/** Who is asking: every call into the ProtectionManager carries it (CLI, REST and RPC alike). */
export interface RequestContext {
  projectId: string;
  /** Admins may see every project (Karbor's `all_tenants`). */
  admin: boolean;
  /** With admin: act across all projects. */
  allProjects?: boolean;
  /**
   * Who started it, for attribution: set by the REST API (the token's id, never its secret, and the
   * client address); absent for the CLI, the scheduler and RPC messages of builds before issue 15.
   */
  origin?: RequestOrigin;
  /**
   * The caller may use only its project's resource scope (`scopes` in bulwark.yaml): set by the REST
   * API for member tokens. Admin tokens and the local CLI are not limited (beyond the restore policy).
   */
  scoped?: boolean;
}

/** The token and address a request came from. Plain strings: it travels in RPC messages as JSON. */
export interface RequestOrigin {
  token_id: string;
  client_address: string;
}

/** The project filter a store or collection query uses: null means "any project". */
export const visibleProject = (ctx: RequestContext): string | null => (ctx.admin && ctx.allProjects ? null : ctx.projectId);
