/** Who is asking: every call into the ProtectionManager carries it (CLI, REST and RPC alike). */
export interface RequestContext {
  projectId: string;
  /** Admins may see every project (Karbor's `all_tenants`). */
  admin: boolean;
  /** With admin: act across all projects. */
  allProjects?: boolean;
}

/** The project filter a store or collection query uses: null means "any project". */
export const visibleProject = (ctx: RequestContext): string | null => (ctx.admin && ctx.allProjects ? null : ctx.projectId);
