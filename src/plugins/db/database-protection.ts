/**
 * The ProtectionPlugin of a dump-based database family (postgres, mariadb). A `<family>.database`
 * keeps its dump in its section; a `<family>.server`'s data is its databases (dependents, each with
 * its own hooks), so it has a hook only where the family gives one. A section holds nothing but what
 * protect wrote: a failed protect and a checkpoint delete both clear it.
 */
import type {
  DeleteContext,
  HookContext,
  Operation,
  ProtectContext,
  ProtectionPlugin,
  Resource,
  ResourceSchemas,
  RestoreContext,
  RestorePolicy,
  VerifyContext,
} from '../api.js';
import { clearSection } from '../clear-section.js';
import { ResourceTypes } from '../resource-types.js';

type Hook<C extends HookContext> = (ctx: C) => Promise<void>;

interface TypeHooks {
  type: string;
  schemas: ResourceSchemas;
  protect?: Hook<ProtectContext>;
  verify?: Hook<VerifyContext>;
}

/** What a family brings: its two types, their hooks, and its check of a restore's target. */
export interface DatabaseFamily {
  /** Names the plugin in errors (`mariadb plugin`). */
  plugin: string;
  database: TypeHooks & { protect: Hook<ProtectContext>; restore: Operation<RestoreContext>; verify: Hook<VerifyContext> };
  /** No restore: restoring a server is restoring its databases. */
  server: TypeHooks;
  checkRestore(resource: Resource, parameters: Record<string, unknown>, policy: RestorePolicy): void;
}

export class DatabaseProtection implements ProtectionPlugin {
  private readonly types: ResourceTypes;

  constructor(private readonly family: DatabaseFamily) {
    this.types = new ResourceTypes(family.plugin, [
      [family.database.type, family.database.schemas],
      [family.server.type, family.server.schemas],
    ]);
  }

  supportedResourceTypes(): string[] {
    return this.types.names();
  }

  schemas(resourceType: string): ResourceSchemas {
    return this.types.schemas(resourceType);
  }

  getProtectOperation(resource: Resource): Operation<ProtectContext> {
    const main = this.hooksOf(resource).protect;
    return main ? { main, revert: (ctx) => clearSection(ctx.bank) } : {};
  }

  getRestoreOperation(resource: Resource): Operation<RestoreContext> {
    return resource.type === this.family.database.type ? this.family.database.restore : {};
  }

  getVerifyOperation(resource: Resource): Operation<VerifyContext> {
    const main = this.hooksOf(resource).verify;
    return main ? { main } : {};
  }

  getDeleteOperation(_resource: Resource): Operation<DeleteContext> {
    return { main: (ctx) => clearSection(ctx.bank) };
  }

  checkRestore(resource: Resource, parameters: Record<string, unknown>, policy: RestorePolicy): void {
    this.family.checkRestore(resource, parameters, policy);
  }

  private hooksOf(resource: Resource): TypeHooks {
    return resource.type === this.family.database.type ? this.family.database : this.family.server;
  }
}
