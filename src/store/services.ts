/**
 * The service catalog (Karbor's os-services): one row per running Bulwark process kind on a host,
 * renewed by its heartbeat. A restarted process finds its row again by (host, binary), so its id and
 * its enabled/disabled status survive restarts.
 */
import type { Kysely } from 'kysely';
import { bwkError } from '../core/errors.js';
import { newId, nowIso } from '../common/ids.js';

export type ServiceStatus = 'enabled' | 'disabled';

export interface ServiceRow {
  id: string;
  host: string;
  binary: string;
  status: ServiceStatus;
  disabled_reason: string | null;
  /** The last heartbeat (Karbor's updated_at). */
  heartbeat_at: string;
  /** Until when that heartbeat vouches for the process: past it (or after a clean stop) the service is down. */
  expires_at: string;
  created_at: string;
}

export interface ServiceDatabase {
  services: ServiceRow;
}

export interface ServiceFilter {
  host?: string;
  binary?: string;
}

/** The service catalog port. */
export interface ServiceStore {
  /** The row of (host, binary), created enabled when there is none, with a heartbeat valid for `ttlMs`. */
  register(host: string, binary: string, ttlMs: number): Promise<ServiceRow>;
  /** Renews the heartbeat of a registered row; returns it as stored (its status may have changed), or null when it is gone. */
  heartbeat(id: string, ttlMs: number): Promise<ServiceRow | null>;
  /** Ends the heartbeat's validity now: a process that stops cleanly is down at once. */
  markStopped(id: string): Promise<void>;
  get(id: string): Promise<ServiceRow | null>;
  /** Every row, by host then binary, optionally only of one host and/or binary. */
  list(filter: ServiceFilter): Promise<ServiceRow[]>;
  /** Enables, or disables with a reason; returns the row, or null when no row has that id. */
  setStatus(id: string, status: ServiceStatus, reason: string | null): Promise<ServiceRow | null>;
}

export class KyselyServiceStore implements ServiceStore {
  constructor(private readonly db: Kysely<ServiceDatabase>) {}

  async register(host: string, binary: string, ttlMs: number): Promise<ServiceRow> {
    const found = await this.find(host, binary);
    if (found) return (await this.heartbeat(found.id, ttlMs))!;
    const now = Date.now();
    const row: ServiceRow = {
      id: newId(),
      host,
      binary,
      status: 'enabled',
      disabled_reason: null,
      heartbeat_at: new Date(now).toISOString(),
      expires_at: new Date(now + ttlMs).toISOString(),
      created_at: nowIso(),
    };
    try {
      await this.db.insertInto('services').values(row).execute();
      return row;
    } catch (err) {
      // Another process of the same host and binary registered first: share its row.
      const raced = await this.find(host, binary);
      if (!raced) throw bwkError('BWK_ERR_INTERNAL', { reason: `cannot register service ${binary} on ${host}` }, { cause: err });
      return (await this.heartbeat(raced.id, ttlMs))!;
    }
  }

  async heartbeat(id: string, ttlMs: number): Promise<ServiceRow | null> {
    const now = Date.now();
    await this.db
      .updateTable('services')
      .set({ heartbeat_at: new Date(now).toISOString(), expires_at: new Date(now + ttlMs).toISOString() })
      .where('id', '=', id)
      .execute();
    return this.get(id);
  }

  async markStopped(id: string): Promise<void> {
    await this.db.updateTable('services').set({ expires_at: nowIso() }).where('id', '=', id).execute();
  }

  async get(id: string): Promise<ServiceRow | null> {
    return (await this.db.selectFrom('services').selectAll().where('id', '=', id).executeTakeFirst()) ?? null;
  }

  async list(filter: ServiceFilter): Promise<ServiceRow[]> {
    let q = this.db.selectFrom('services').selectAll().orderBy('host').orderBy('binary').orderBy('id');
    if (filter.host !== undefined) q = q.where('host', '=', filter.host);
    if (filter.binary !== undefined) q = q.where('binary', '=', filter.binary);
    return q.execute();
  }

  async setStatus(id: string, status: ServiceStatus, reason: string | null): Promise<ServiceRow | null> {
    await this.db
      .updateTable('services')
      .set({ status, disabled_reason: status === 'disabled' ? reason : null })
      .where('id', '=', id)
      .execute();
    return this.get(id);
  }

  private async find(host: string, binary: string): Promise<ServiceRow | undefined> {
    return this.db.selectFrom('services').selectAll().where('host', '=', host).where('binary', '=', binary).executeTakeFirst();
  }
}
