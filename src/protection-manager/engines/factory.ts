/**
 * The engine a configuration names. The Temporal SDK (client and worker) is loaded only by a home
 * whose engine is temporal.
 */
import type { BulwarkConfig } from '../../common/config.js';
import type { Logger } from '../../common/logging.js';
import type { Engine } from '../engine.js';
import type { OperationEvents } from '../events.js';
import type { OperationSteps } from '../operation-steps.js';
import { LocalEngine } from './local.js';
import type { RunningWorker } from './temporal-worker.js';

export interface EngineDeps {
  config: BulwarkConfig;
  home: string;
  steps: OperationSteps;
  events: OperationEvents;
  logger: Logger;
}

export async function createEngine(deps: EngineDeps): Promise<Engine> {
  if (deps.config.engine !== 'temporal') return new LocalEngine(deps.steps, deps.config, deps.events, deps.logger);
  const { TemporalEngine } = await import('./temporal.js');
  return TemporalEngine.connect(deps.config, deps.home, deps.logger);
}

/**
 * With the temporal engine and `temporal.run_worker` (or `runWorker`), this process also serves the
 * task queue (all-in-one, tests, a laptop); null otherwise.
 */
export async function startInProcessWorker(deps: EngineDeps, runWorker: boolean | undefined): Promise<RunningWorker | null> {
  if (deps.config.engine !== 'temporal' || !(runWorker ?? deps.config.temporal.run_worker)) return null;
  const { startWorker } = await import('./temporal-worker.js');
  return startWorker({ role: 'worker' }, deps);
}
