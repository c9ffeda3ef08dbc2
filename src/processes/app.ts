import { CatalogScheduling } from '../operation-engine/scheduling.js';
import type { SchedulingService } from '../operation-engine/service.js';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { BulwarkConfig } from '../common/config.js';
import { configWarnings, homePath, loadConfig, pageSizesOf } from '../common/config.js';
import { bwkError } from '../core/errors.js';
import type { Logger } from '../common/logging.js';
import { createLogger, fileSink } from '../common/logging.js';
import { makePrivateDir, privacyWarnings } from '../common/private-files.js';
import { BUILTIN_PROVIDER_DIR, ProviderRegistry } from '../providers/registry.js';
import { openCatalogStore } from '../store/factory.js';
import type { CatalogStore } from '../store/port.js';
import { createEngine, startInProcessWorker } from '../protection-manager/engines/factory.js';
import type { Engine } from '../protection-manager/engine.js';
import type { RunningWorker } from '../protection-manager/engines/temporal-worker.js';
import { Held } from './process.js';
import type { OperationEvents } from '../protection-manager/events.js';
import { InProcessEvents } from '../protection-manager/events.js';
import { OperationSteps } from '../protection-manager/operation-steps.js';
import { recordOperationMetrics } from '../protection-manager/operation-metrics.js';
import { QuotaService } from '../protection-manager/quota-service.js';
import { ServiceCatalog } from '../protection-manager/service-catalog.js';
import { ProtectionManager } from '../protection-manager/protection-manager.js';
import { localBankDirectories, restorePolicyOf } from '../protection-manager/restore-policy.js';
import { ResourceScopes } from '../protection-manager/resource-scopes.js';

/** The embedded Bulwark: one process, local engine, SQLite catalog, banks from the providers. */
export interface BulwarkApp {
  home: string;
  config: BulwarkConfig;
  logger: Logger;
  providers: ProviderRegistry;
  store: CatalogStore;
  events: OperationEvents;
  steps: OperationSteps;
  engine: Engine;
  manager: ProtectionManager;
  /** Triggers, scheduled operations and operation logs over this app's catalog. */
  scheduling: SchedulingService;
  /** Karbor's quotas and quota classes over this app's catalog. */
  quotas: QuotaService;
  /** Karbor's os-services over this app's catalog. */
  services: ServiceCatalog;
  /** Resource scopes of service mode; `reload(home)` re-reads them from bulwark.yaml (on SIGHUP). */
  scopes: ResourceScopes;
  /** Start-up warnings for people (also logged): the home or a bank directory open to other users. */
  warnings: string[];
  /**
   * Stops taking operations and lets the running ones end (the local engine aborts them; a worker
   * drains within its grace time), so their last events and records are written. Idempotent.
   */
  drain(): Promise<void>;
  /** Drains, then closes the engine, catalog and providers. */
  close(): Promise<void>;
}

/** `--home`, else $BULWARK_HOME, else ~/.bulwark. */
export function resolveHome(flag?: string): string {
  return resolve(flag ?? process.env.BULWARK_HOME ?? join(homedir(), '.bulwark'));
}

/** Opens (creating on first use) a Bulwark home, and recovers operations abandoned by dead processes. */
export async function openBulwark(home: string, options: { recover?: boolean; runWorker?: boolean } = {}): Promise<BulwarkApp> {
  try {
    makePrivateDir(join(home, 'providers'));
  } catch (err) {
    throw bwkError('BWK_ERR_HOME_UNUSABLE', { path: home, reason: (err as Error).message });
  }
  const config = loadConfig(home);
  const logger = createLogger(fileSink(homePath(home, config.log.file)), config.log.level, { pid: process.pid });
  for (const warning of configWarnings(config)) logger.warn('deprecated configuration', { warning });
  const held = new Held();
  return held.starting(async () => {
    const providers = held.add(
      await ProviderRegistry.load({ home, logger, directories: [BUILTIN_PROVIDER_DIR, join(home, 'providers')] }),
      (p) => p.close(),
    );
    const store = held.add(await openCatalogStore(config.catalog.url, home, { pageSizes: pageSizesOf(config) }), (s) => s.close());
    const events = new InProcessEvents();
    held.add(
      recordOperationMetrics(
        events,
        providers.list().map((p) => p.chunks),
      ),
      (stop) => stop(),
    );
    // A restore must never write into Bulwark's own state: the home and every bank on this machine.
    const restorePolicy = restorePolicyOf(config, home, providers);
    const steps = new OperationSteps({
      providers,
      store,
      events,
      logger,
      leaseTtlMs: config.lease.ttl_ms,
      engineName: config.engine,
      restorePolicy,
    });
    const engineDeps = { config, home, steps, events, logger };
    const engine = await createEngine(engineDeps);
    let worker: RunningWorker | null = null;
    let drained: Promise<void> | undefined;
    const drain = (): Promise<void> =>
      (drained ??= (async () => {
        await worker?.shutdown();
        await engine.close();
      })());
    // The engine (and the worker once started) close through drain, once, before the catalog and providers.
    held.add(drain, (d) => d());
    worker = await startInProcessWorker(engineDeps, options.runWorker);
    const scopes = new ResourceScopes(config.scopes, providers, logger);
    const manager = new ProtectionManager({ config, home, providers, store, engine, events, logger, restorePolicy, scopes });
    const warnings = privacyWarnings(home, localBankDirectories(providers));
    for (const warning of warnings) logger.warn('directory open to other users', { warning });
    if (options.recover !== false) await manager.recover();
    return {
      home,
      config,
      logger,
      providers,
      store,
      events,
      steps,
      engine,
      manager,
      scheduling: new CatalogScheduling({ store, service: manager, config }),
      quotas: new QuotaService({ store, config, logger }),
      services: new ServiceCatalog({ store: store.services, logger }),
      scopes,
      warnings,
      drain,
      async close() {
        await drain();
        await held.release();
      },
    };
  });
}
