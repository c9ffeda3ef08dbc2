/**
 * Discovery: `postgres.server` resources are the servers configured in the provider (id = server
 * name); `postgres.database` resources are the real databases on one (id = `<server>/<database>`),
 * found by asking the server, so a plan can only name a database that exists.
 */
import type { JsonSchema, ProtectableContext, ProtectablePlugin, Resource } from '../api.js';
import { bwkError } from '../../common/errors.js';
import type { PgTools } from './pg-tools.js';
import { PG_DATABASE, PG_SERVER } from './schemas.js';

/** Listing and lookups are quick queries; this only stops a wedged server from hanging a request. */
const QUERY_TIMEOUT_MS = 120_000;

export const databaseId = (server: string, database: string): string => `${server}/${database}`;

/** Splits `<server>/<database>` (server names cannot hold `/`, database names can). */
export function parseDatabaseId(id: string): { server: string; database: string } | null {
  const slash = id.indexOf('/');
  if (slash <= 0 || slash === id.length - 1) return null;
  return { server: id.slice(0, slash), database: id.slice(slash + 1) };
}

export function databaseResource(server: string, database: string): Resource {
  return { type: PG_DATABASE, id: databaseId(server, database), name: database, extra_info: { server, database } };
}

export class PgServerProtectable implements ProtectablePlugin {
  constructor(private readonly tools: PgTools) {}

  resourceType(): string { return PG_SERVER; }
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
    return { type: PG_SERVER, id: name, name, extra_info: { host: s.host, port: s.port } };
  }
}

const LIST_SCHEMA: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['server'],
  properties: { server: { type: 'string', minLength: 1, description: 'Configured server whose databases are listed.' } },
};

export class PgDatabaseProtectable implements ProtectablePlugin {
  constructor(private readonly tools: PgTools) {}

  resourceType(): string { return PG_DATABASE; }
  parentResourceTypes(): string[] { return [PG_SERVER]; }
  listParametersSchema(): JsonSchema { return LIST_SCHEMA; }

  async listResources(ctx: ProtectableContext): Promise<Resource[]> {
    const name = ctx.parameters.server;
    if (typeof name !== 'string') throw bwkError('BWK_ERR_INVALID_INPUT', { reason: 'postgres.database listing needs parameters {"server": "<configured server>"}' });
    if (!this.tools.servers.has(name)) {
      throw bwkError('BWK_ERR_INVALID_INPUT', { reason: `postgres.database listing: server "${name}" is not configured (configured: ${[...this.tools.servers.keys()].join(', ')})` });
    }
    return this.databasesOf(name);
  }

  async showResource(_ctx: ProtectableContext, id: string): Promise<Resource> {
    const parsed = parseDatabaseId(id);
    if (!parsed) throw bwkError('BWK_ERR_RESOURCE_NOT_FOUND', { type: PG_DATABASE, id, reason: 'the id must be "<server>/<database>"' });
    const server = this.tools.server(parsed.server, PG_DATABASE, id);
    const props = await this.tools.databaseProperties(server, parsed.database, AbortSignal.timeout(QUERY_TIMEOUT_MS));
    if (!props) throw bwkError('BWK_ERR_RESOURCE_NOT_FOUND', { type: PG_DATABASE, id, reason: `server "${server.name}" has no database "${parsed.database}"` });
    return databaseResource(server.name, parsed.database);
  }

  async dependentResources(_ctx: ProtectableContext, parent: Resource): Promise<Resource[]> {
    if (parent.type !== PG_SERVER) return [];
    return this.databasesOf(parent.id);
  }

  private async databasesOf(serverName: string): Promise<Resource[]> {
    const server = this.tools.server(serverName);
    const names = await this.tools.listDatabases(server, AbortSignal.timeout(QUERY_TIMEOUT_MS));
    return names.map((db) => databaseResource(server.name, db));
  }
}
