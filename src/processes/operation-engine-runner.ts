/**
 * Starts an operation engine over a catalog and a ProtectionService: embedded in `bulwark serve`
 * (the app's manager, in process) or as `bulwark operation-engine` (RPC). With
 * operation_engine.redis_url, instances elect one leader; without it, one instance runs alone.
 */
import { hostname } from 'node:os';
import type { BulwarkConfig } from '../common/config.js';
import { newId } from '../common/ids.js';
import type { Logger } from '../common/logging.js';
import { OperationEngine } from '../operation-engine/engine.js';
import { GatedLeader, RedisLeader, SoloLeader, redisPassword, type LeaderLease } from '../operation-engine/leader.js';
import type { OperationEvents } from '../protection-manager/events.js';
import type { ProtectionService } from '../protection-manager/service.js';
import type { CatalogStore } from '../store/port.js';

export async function runOperationEngine(deps: {
  config: BulwarkConfig;
  store: CatalogStore;
  service: ProtectionService;
  events?: OperationEvents;
  logger: Logger;
  /** Whether the engine's service row is enabled: while it is not, the engine does not lead. */
  enabled?: () => boolean;
}): Promise<OperationEngine> {
  const cfg = deps.config.operation_engine;
  const leader: LeaderLease =
    cfg.redis_url === undefined
      ? new SoloLeader()
      : await RedisLeader.open({
          url: cfg.redis_url,
          ...(cfg.password_env ? { password: redisPassword(cfg.password_env) } : {}),
          key: cfg.leader_key,
          // Unique per process, readable in Redis: which host and process leads.
          me: `${hostname()}:${process.pid}:${newId()}`,
          ttlMs: cfg.leader_lease_ttl_ms,
          logger: deps.logger,
        });
  const engine = new OperationEngine({
    store: deps.store,
    service: deps.service,
    ...(deps.events ? { events: deps.events } : {}),
    leader: deps.enabled ? new GatedLeader(leader, deps.enabled) : leader,
    config: cfg,
    logger: deps.logger,
    bankRunTimeoutMs: deps.config.rpc.long_timeout_ms,
  });
  engine.start();
  return engine;
}
