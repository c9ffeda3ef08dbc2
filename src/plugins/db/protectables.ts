/**
 * Discovery shared by the database families (postgres, mariadb): `<family>.server` resources are the
 * servers configured in the provider (id = server name); `<family>.database` resources are the real
 * databases on one (id = `<server>/<database>`), found by asking the server, so a plan can only name
 * a database that exists.
 */
import type { JsonSchema, ProtectableContext, ProtectablePlugin, Resource } from '../api.js';
import { bwkError } from '../../core/errors.js';

/** Listing and lookups are quick queries; this only stops a wedged server from hanging a request. */
const QUERY_TIMEOUT_MS = 120_000;

export interface ServerLike {
  name: string;
  host: string;
  port: number;
}

/** What a family's tools (PgTools, MariaDbTools) give the shared protectables. */
export interface FamilyTools<S extends ServerLike> {
  readonly servers: ReadonlyMap<string, S>;
  /** The configured server, or BWK_ERR_RESOURCE_NOT_FOUND for `type#id` (by default the server's own). */
  server(name: string, type?: string, id?: string): S;
  listDatabases(server: S, signal: AbortSignal): Promise<string[]>;
  databaseExists(server: S, database: string, signal: AbortSignal): Promise<boolean>;
}

/** What a family tells the shared protectables about its servers. */
export interface DatabaseCatalog<S extends ServerLike> {
  serverType: string;
  databaseType: string;
  tools: FamilyTools<S>;
  /** Why a database may not be protected by this family (a system schema), or null. */
  reserved?(database: string): string | null;
}

/** A family's protectables: its configured servers, and the databases on them. */
export function databaseProtectables<S extends ServerLike>(catalog: DatabaseCatalog<S>): ProtectablePlugin[] {
  return [new ServerProtectable(catalog), new DatabaseProtectable(catalog)];
}

export const databaseId = (server: string, database: string): string => `${server}/${database}`;

/** Splits `<server>/<database>` (server names cannot hold `/`, database names can). */
export function parseDatabaseId(id: string): { server: string; database: string } | null {
  const slash = id.indexOf('/');
  if (slash <= 0 || slash === id.length - 1) return null;
  return { server: id.slice(0, slash), database: id.slice(slash + 1) };
}

/** The id's parts, or BWK_ERR_RESOURCE_NOT_FOUND saying what an id looks like. */
export function databaseIdOf(type: string, id: string): { server: string; database: string } {
  const parsed = parseDatabaseId(id);
  if (!parsed) throw bwkError('BWK_ERR_RESOURCE_NOT_FOUND', { type, id, reason: 'the id must be "<server>/<database>"' });
  return parsed;
}

export function databaseResource(type: string, server: string, database: string): Resource {
  return { type, id: databaseId(server, database), name: database, extra_info: { server, database } };
}

export class ServerProtectable<S extends ServerLike> implements ProtectablePlugin {
  constructor(private readonly catalog: DatabaseCatalog<S>) {}

  resourceType(): string {
    return this.catalog.serverType;
  }
  parentResourceTypes(): string[] {
    return [];
  }

  async listResources(_ctx: ProtectableContext): Promise<Resource[]> {
    return [...this.catalog.tools.servers.keys()].sort().map((name) => this.resource(name));
  }

  async showResource(_ctx: ProtectableContext, id: string): Promise<Resource> {
    return this.resource(id);
  }

  async dependentResources(_ctx: ProtectableContext, _parent: Resource): Promise<Resource[]> {
    return [];
  }

  private resource(name: string): Resource {
    const s = this.catalog.tools.server(name);
    return { type: this.catalog.serverType, id: name, name, extra_info: { host: s.host, port: s.port } };
  }
}

const LIST_SCHEMA: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['server'],
  properties: { server: { type: 'string', minLength: 1, description: 'Configured server whose databases are listed.' } },
};

export class DatabaseProtectable<S extends ServerLike> implements ProtectablePlugin {
  constructor(private readonly catalog: DatabaseCatalog<S>) {}

  resourceType(): string {
    return this.catalog.databaseType;
  }
  parentResourceTypes(): string[] {
    return [this.catalog.serverType];
  }
  listParametersSchema(): JsonSchema {
    return LIST_SCHEMA;
  }

  async listResources(ctx: ProtectableContext): Promise<Resource[]> {
    const type = this.catalog.databaseType;
    const name = ctx.parameters.server;
    if (typeof name !== 'string')
      throw bwkError('BWK_ERR_INVALID_INPUT', { reason: `${type} listing needs parameters {"server": "<configured server>"}` });
    if (!this.catalog.tools.servers.has(name)) {
      throw bwkError('BWK_ERR_INVALID_INPUT', {
        reason: `${type} listing: server "${name}" is not configured (configured: ${[...this.catalog.tools.servers.keys()].join(', ')})`,
      });
    }
    return this.databasesOf(name);
  }

  async showResource(_ctx: ProtectableContext, id: string): Promise<Resource> {
    const type = this.catalog.databaseType;
    const parsed = databaseIdOf(type, id);
    const server = this.catalog.tools.server(parsed.server, type, id);
    const reserved = this.catalog.reserved?.(parsed.database);
    if (reserved) throw bwkError('BWK_ERR_RESOURCE_NOT_FOUND', { type, id, reason: reserved });
    if (!(await this.catalog.tools.databaseExists(server, parsed.database, AbortSignal.timeout(QUERY_TIMEOUT_MS)))) {
      throw bwkError('BWK_ERR_RESOURCE_NOT_FOUND', { type, id, reason: `server "${server.name}" has no database "${parsed.database}"` });
    }
    return databaseResource(type, server.name, parsed.database);
  }

  async dependentResources(_ctx: ProtectableContext, parent: Resource): Promise<Resource[]> {
    if (parent.type !== this.catalog.serverType) return [];
    return this.databasesOf(parent.id);
  }

  private async databasesOf(serverName: string): Promise<Resource[]> {
    const server = this.catalog.tools.server(serverName);
    const names = await this.catalog.tools.listDatabases(server, AbortSignal.timeout(QUERY_TIMEOUT_MS));
    return names.map((db) => databaseResource(this.catalog.databaseType, server.name, db));
  }
}
