/**
 * Discovery: `mariadb.server` resources are the servers configured in the provider (id = server
 * name); `mariadb.database` resources are the real databases on one (id = `<server>/<database>`),
 * found by asking the server, so a plan can only name a database that exists. The server's own
 * databases (mysql, sys, information_schema, performance_schema) are not offered.
 */
import type { JsonSchema, ProtectableContext, ProtectablePlugin, Resource } from '../api.js';
import { bwkError } from '../../common/errors.js';
import type { MariaDbTools } from './mariadb-tools.js';
import { MARIADB_DATABASE, MARIADB_SERVER, SYSTEM_DATABASES } from './schemas.js';

/** Listing and lookups are quick queries; this only stops a wedged server from hanging a request. */
const QUERY_TIMEOUT_MS = 120_000;

export const databaseId = (server: string, database: string): string => `${server}/${database}`;

/** Splits `<server>/<database>` (server names cannot hold `/`). */
export function parseDatabaseId(id: string): { server: string; database: string } | null {
  const slash = id.indexOf('/');
  if (slash <= 0 || slash === id.length - 1) return null;
  return { server: id.slice(0, slash), database: id.slice(slash + 1) };
}

/** The id's parts, or BWK_ERR_RESOURCE_NOT_FOUND saying what an id looks like. */
export function databaseIdOf(id: string): { server: string; database: string } {
  const parsed = parseDatabaseId(id);
  if (!parsed) throw bwkError('BWK_ERR_RESOURCE_NOT_FOUND', { type: MARIADB_DATABASE, id, reason: 'the id must be "<server>/<database>"' });
  return parsed;
}

export function databaseResource(server: string, database: string): Resource {
  return { type: MARIADB_DATABASE, id: databaseId(server, database), name: database, extra_info: { server, database } };
}

export class MariaDbServerProtectable implements ProtectablePlugin {
  constructor(private readonly tools: MariaDbTools) {}

  resourceType(): string { return MARIADB_SERVER; }
  parentResourceTypes(): string[] { return []; }

  async listResources(_ctx: ProtectableContext): Promise<Resource[]> {
    return [...this.tools.servers.keys()].sort().map((name) => this.resource(name));
  }

  async showResource(_ctx: ProtectableContext, id: string): Promise<Resource> {
    this.tools.server(id);
    return this.resource(id);
  }

  async dependentResources(_ctx: ProtectableContext, _parent: Resource): Promise<Resource[]> {
    return [];
  }

  private resource(name: string): Resource {
    const s = this.tools.server(name);
    return { type: MARIADB_SERVER, id: name, name, extra_info: { host: s.host, port: s.port } };
  }
}

const LIST_SCHEMA: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['server'],
  properties: { server: { type: 'string', minLength: 1, description: 'Configured server whose databases are listed.' } },
};

export class MariaDbDatabaseProtectable implements ProtectablePlugin {
  constructor(private readonly tools: MariaDbTools) {}

  resourceType(): string { return MARIADB_DATABASE; }
  parentResourceTypes(): string[] { return [MARIADB_SERVER]; }
  listParametersSchema(): JsonSchema { return LIST_SCHEMA; }

  async listResources(ctx: ProtectableContext): Promise<Resource[]> {
    const name = ctx.parameters.server;
    if (typeof name !== 'string') throw bwkError('BWK_ERR_INVALID_INPUT', { reason: 'mariadb.database listing needs parameters {"server": "<configured server>"}' });
    if (!this.tools.servers.has(name)) {
      throw bwkError('BWK_ERR_INVALID_INPUT', { reason: `mariadb.database listing: server "${name}" is not configured (configured: ${[...this.tools.servers.keys()].join(', ')})` });
    }
    return this.databasesOf(name);
  }

  async showResource(_ctx: ProtectableContext, id: string): Promise<Resource> {
    const parsed = databaseIdOf(id);
    const server = this.tools.server(parsed.server, MARIADB_DATABASE, id);
    if (SYSTEM_DATABASES.has(parsed.database.toLowerCase())) {
      throw bwkError('BWK_ERR_RESOURCE_NOT_FOUND', { type: MARIADB_DATABASE, id, reason: `"${parsed.database}" is a system database of the server, not protected by this plugin` });
    }
    const charset = await this.tools.databaseCharset(server, parsed.database, AbortSignal.timeout(QUERY_TIMEOUT_MS));
    if (!charset) throw bwkError('BWK_ERR_RESOURCE_NOT_FOUND', { type: MARIADB_DATABASE, id, reason: `server "${server.name}" has no database "${parsed.database}"` });
    return databaseResource(server.name, parsed.database);
  }

  async dependentResources(_ctx: ProtectableContext, parent: Resource): Promise<Resource[]> {
    if (parent.type !== MARIADB_SERVER) return [];
    return this.databasesOf(parent.id);
  }

  private async databasesOf(serverName: string): Promise<Resource[]> {
    const server = this.tools.server(serverName);
    const names = await this.tools.listDatabases(server, AbortSignal.timeout(QUERY_TIMEOUT_MS));
    return names.map((db) => databaseResource(server.name, db));
  }
}
