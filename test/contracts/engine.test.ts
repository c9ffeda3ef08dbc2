import { randomUUID } from 'node:crypto';
import { describeEngineContract } from './engine.contract.js';

describeEngineContract('local', 'engine: local');

// The same suite, unchanged, against a real Temporal dev server (scripts/temporal-dev.sh): this
// process runs the worker (temporal.run_worker) on a task queue of its own.
describeEngineContract(
  'temporal',
  [
    'engine: temporal',
    'temporal:',
    `  address: ${process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233'}`,
    `  task_queue: bulwark-test-${randomUUID().slice(0, 8)}`,
    '  run_worker: true',
    '  heartbeat_timeout_ms: 2000',
  ].join('\n'),
  { requires: 'TEMPORAL_ADDRESS' },
);
