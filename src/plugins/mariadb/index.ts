/**
 * The built-in `mariadb` plugin: `mariadb.server` and `mariadb.database` resources, protected with
 * MariaDB's own tools (mariadb-dump of one database's objects, streamed into the bank) and restored
 * with the `mariadb` client. Uses only the public plugin API, like a third-party plugin would.
 * Options: see src/plugins/mariadb/options.ts.
 */
import { PLUGIN_API_VERSION } from '../api.js';
import type {
  DeleteContext, Operation, PluginDefinition, ProtectContext, ProtectionPlugin, Resource, ResourceSchemas,
  RestoreContext, RestorePolicy, VerifyContext,
} from '../api.js';
import { MariaDbTools } from './mariadb-tools.js';
import { parseMariaDbOptions } from './options.js';
import { clearSection, protectDatabase } from './protect.js';
import { mariadbProtectables } from './protectable.js';
import { checkMariaDbRestore, restoreDatabase } from './restore.js';
import { MARIADB_DATABASE, MARIADB_DATABASE_SCHEMAS, MARIADB_SERVER, MARIADB_SERVER_SCHEMAS } from './schemas.js';
import { verifyDatabase } from './verify.js';
import { ResourceTypes } from '../resource-types.js';

const TYPES = new ResourceTypes('mariadb', [[MARIADB_DATABASE, MARIADB_DATABASE_SCHEMAS], [MARIADB_SERVER, MARIADB_SERVER_SCHEMAS]]);

export class MariaDbProtection implements ProtectionPlugin {
  constructor(private readonly tools: MariaDbTools) {}

  supportedResourceTypes(): string[] {
    return TYPES.names();
  }

  schemas(resourceType: string): ResourceSchemas {
    return TYPES.schemas(resourceType);
  }

  // A server's data is its databases (dependents, each with its own hooks): the server itself has no hooks.
  getProtectOperation(resource: Resource): Operation<ProtectContext> {
    return resource.type === MARIADB_DATABASE ? { main: (ctx) => protectDatabase(this.tools, ctx), revert: (ctx) => clearSection(ctx.bank) } : {};
  }

  getRestoreOperation(resource: Resource): Operation<RestoreContext> {
    return resource.type === MARIADB_DATABASE ? { main: (ctx) => restoreDatabase(this.tools, ctx) } : {};
  }

  getVerifyOperation(resource: Resource): Operation<VerifyContext> {
    return resource.type === MARIADB_DATABASE ? { main: verifyDatabase } : {};
  }

  getDeleteOperation(_resource: Resource): Operation<DeleteContext> {
    return { main: (ctx) => clearSection(ctx.bank) };
  }

  checkRestore(resource: Resource, parameters: Record<string, unknown>, policy: RestorePolicy): void {
    checkMariaDbRestore(this.tools, resource, parameters, policy);
  }
}

export const mariadbPlugin: PluginDefinition = {
  apiVersion: PLUGIN_API_VERSION,
  name: 'mariadb',
  description: 'Protects MariaDB databases with mariadb-dump (one database\'s tables, views, triggers, routines and events, as SQL) streamed into the bank, and restores them with the mariadb client.',
  create: (env) => {
    const tools = new MariaDbTools(parseMariaDbOptions(env.providerId, env.options).servers);
    return {
      protection: new MariaDbProtection(tools),
      protectables: mariadbProtectables(tools),
    };
  },
};

export default mariadbPlugin;
