/**
 * Karbor's os-services over the service catalog: every running Bulwark process with its host,
 * binary, status and state (up while its heartbeat is valid), for admins, who may disable or enable
 * one. The processes themselves act on the change at their next heartbeat (service-registration.ts).
 */
import { assertPrintable } from '../core/control-chars.js';
import { bwkError } from '../core/errors.js';
import type { Logger } from '../common/logging.js';
import type { ServiceFilter, ServiceRow, ServiceStatus, ServiceStore } from '../store/services.js';
import type { RequestContext } from './request.js';

/** A service as Karbor's client shows it. */
export interface ServiceView {
  id: string;
  binary: string;
  host: string;
  status: ServiceStatus;
  state: 'up' | 'down';
  /** The last heartbeat. */
  updated_at: string;
  disabled_reason: string | null;
}

export interface ServiceChange {
  status: ServiceStatus;
  disabled_reason?: string | null;
}

export class ServiceCatalog {
  constructor(private readonly deps: { store: ServiceStore; logger: Logger; now?: () => number }) {}

  async list(ctx: RequestContext, filter: ServiceFilter = {}): Promise<ServiceView[]> {
    adminOnly(ctx);
    return (await this.deps.store.list(filter)).map((r) => this.view(r));
  }

  async update(ctx: RequestContext, id: string, change: ServiceChange): Promise<ServiceView> {
    adminOnly(ctx);
    if (change.status !== 'enabled' && change.status !== 'disabled')
      throw bwkError('BWK_ERR_INVALID_INPUT', { reason: 'status must be "enabled" or "disabled"' });
    const reason = change.status === 'disabled' ? (change.disabled_reason ?? null) : null;
    if (reason !== null) {
      if (typeof reason !== 'string' || reason.length > 255)
        throw bwkError('BWK_ERR_INVALID_INPUT', { reason: 'disabled_reason is at most 255 characters' });
      assertPrintable('disabled_reason', reason);
    }
    const row = await this.deps.store.get(id);
    if (!row) throw bwkError('BWK_ERR_SERVICE_NOT_FOUND', { id });
    if (change.status === 'disabled' && row.binary === 'bulwark-api')
      throw bwkError('BWK_ERR_SERVICE_NOT_DISABLABLE', { id, binary: row.binary });
    const updated = (await this.deps.store.setStatus(id, change.status, reason))!;
    this.deps.logger.info(`service ${change.status}`, {
      service: id,
      host: row.host,
      binary: row.binary,
      reason,
      token_id: ctx.origin?.token_id ?? null,
    });
    return this.view(updated);
  }

  private view(r: ServiceRow): ServiceView {
    const now = (this.deps.now ?? Date.now)();
    return {
      id: r.id,
      binary: r.binary,
      host: r.host,
      status: r.status,
      state: Date.parse(r.expires_at) > now ? 'up' : 'down',
      updated_at: r.heartbeat_at,
      disabled_reason: r.disabled_reason,
    };
  }
}

function adminOnly(ctx: RequestContext): void {
  if (!ctx.admin) throw bwkError('BWK_ERR_FORBIDDEN', { reason: 'services are listed and changed with an admin token' });
}
