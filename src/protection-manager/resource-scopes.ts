/**
 * Resource scopes: which resources a project's members may use in service mode, and where their
 * restores may write (`scopes` in bulwark.yaml, reloaded on SIGHUP). Records were always isolated by
 * project; resources were not — any member could plan `fs.directory=/etc` and restore over it. Every
 * point a resource is touched asks here: protectable listing, plan create and update, protect (the
 * scope may have changed since the plan was made), restore and verify. Admin tokens and the local CLI
 * are not scoped (RequestContext.scoped). A project without a scope may use nothing.
 */
import { posix } from 'node:path';
import { bwkError } from '../core/errors.js';
import { isWithin } from '../common/real-paths.js';
import { resourceRef, type Resource } from '../core/resource.js';
import type { BulwarkConfig } from '../common/config.js';
import { loadConfig } from '../common/config.js';
import type { Logger } from '../common/logging.js';
import type { ResourceScope } from '../plugins/api.js';
import type { Provider, ProviderRegistry } from '../providers/registry.js';
import type { RequestContext } from './request.js';

export type ScopeUse = 'protect' | 'restore';
type Scopes = BulwarkConfig['scopes'];

export class ResourceScopes {
  constructor(
    private scopes: Scopes,
    private readonly providers: ProviderRegistry,
    private readonly logger: Logger,
  ) {}

  /**
   * How resources of `type` match a scope: the declaration of `provider`'s plugin when the resource is
   * known to be that provider's (its options, such as a Redis instance's db, can matter), else the
   * first provider's that protects the type (protectable listings span providers).
   */
  private scopeOf(type: string, provider?: Provider): ResourceScope | undefined {
    if (provider) return provider.protection.get(type)?.scope?.(type);
    for (const p of this.providers.list()) {
      const scope = p.protection.get(type)?.scope?.(type);
      if (scope) return scope;
    }
    return undefined;
  }

  /**
   * Reads `scopes` from the home's bulwark.yaml again and says what it did; a file that does not
   * validate is refused (its coded error is thrown) and the scopes in force stay.
   */
  reload(home: string): string {
    try {
      this.scopes = loadConfig(home).scopes;
    } catch (err) {
      this.logger.error('resource scopes not reloaded: the previous scopes stay in force', { error: (err as Error).message });
      throw err;
    }
    const note = `resource scopes reloaded: ${Object.keys(this.scopes).length} project(s) have one`;
    this.logger.info(note);
    return note;
  }

  /** Refuses (BWK_ERR_RESOURCE_DENIED) unless a scoped caller may protect, plan or read each resource. */
  async assertUsable(ctx: RequestContext, resources: readonly Resource[], action: string, provider?: Provider): Promise<void> {
    if (!ctx.scoped) return;
    for (const r of resources) {
      const why = await this.refusal(ctx.projectId, r.type, r.id, 'protect', provider);
      if (why !== null) throw this.deny(ctx, resourceRef(r), action, why);
    }
  }

  /** Refuses unless every place a scoped caller's restore writes into lies in the project's restore scope. */
  async assertRestoreTargets(
    ctx: RequestContext,
    resources: readonly Resource[],
    parametersOf: (r: Resource) => Record<string, unknown>,
    provider?: Provider,
  ): Promise<void> {
    if (!ctx.scoped) return;
    for (const r of resources) {
      const scope = this.scopeOf(r.type, provider);
      if (!scope) throw this.deny(ctx, resourceRef(r), 'restore', adminOnly(r.type));
      for (const target of scope.restoreTargets(r, parametersOf(r))) {
        const why = await this.refusal(ctx.projectId, r.type, target, 'restore', provider);
        if (why !== null) throw this.deny(ctx, `${r.type} target ${target}`, 'restore into', why);
      }
    }
  }

  /** What of `instances` a caller may see: all of them unscoped, those in the project's scope otherwise. */
  async visible<T extends Resource>(ctx: RequestContext, instances: readonly T[]): Promise<T[]> {
    if (!ctx.scoped) return [...instances];
    const out: T[] = [];
    for (const r of instances) if ((await this.refusal(ctx.projectId, r.type, r.id, 'protect')) === null) out.push(r);
    return out;
  }

  /**
   * The target paths a scoped restore may write under: the project's path-like restore patterns,
   * narrowed to the global restore policy. Handed to the restore hooks, which check it again as
   * they write (a symlink may lead elsewhere by then). Undefined when the caller is not scoped.
   */
  restorePaths(ctx: RequestContext, types: readonly string[], global: readonly string[]): string[] | undefined {
    if (!ctx.scoped) return undefined;
    const scope = this.scopes[ctx.projectId] ?? {};
    const roots = types.flatMap((t) => scope[t]?.restore ?? []).filter((p) => p.startsWith('/'));
    const narrowed = roots.flatMap((r) =>
      global.flatMap((g) => {
        const [root, limit] = [posix.resolve(r), posix.resolve(g)];
        return isWithin(root, limit) ? [root] : isWithin(limit, root) ? [limit] : [];
      }),
    );
    return [...new Set(narrowed)];
  }

  /** Why `id` may not be used for `use` by `project`, or null when it may. */
  private async refusal(project: string, type: string, id: string, use: ScopeUse, provider?: Provider): Promise<string | null> {
    const scope = this.scopeOf(type, provider);
    if (!scope) return adminOnly(type);
    const mine = this.scopes[project];
    if (!mine) {
      return (
        `project ${project} has no resource scope, so its members may use no resources: an operator adds one under ` +
        `scopes.${project} in bulwark.yaml (docs/security.md)`
      );
    }
    const patterns = mine[type]?.[use] ?? [];
    return patterns.length > 0 && (await scope.matches(id, patterns)) ? null : `it is outside the ${use} scope of project ${project}`;
  }

  private deny(ctx: RequestContext, what: string, action: string, reason: string): Error {
    this.logger.warn('resource denied', {
      project: ctx.projectId,
      resource: what,
      action,
      ...(ctx.origin ? { token_id: ctx.origin.token_id, client_address: ctx.origin.client_address } : {}),
    });
    return bwkError('BWK_ERR_RESOURCE_DENIED', { project: ctx.projectId, resource: what, action, reason });
  }
}

const adminOnly = (type: string): string =>
  `resources of type ${type} are for admin tokens only: its plugin declares no resource scope (docs/plugin-authoring.md)`;
