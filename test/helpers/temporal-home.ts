import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Writes a home's bulwark.yaml for the Temporal engine at `address`, on a task queue of its own
 * (`<prefix>-<random>`, so suites never take each other's tasks), with the short heartbeat and
 * shutdown times e2e tests need; `extra` lines follow.
 */
export function writeTemporalHome(home: string, address: string, prefix: string, extra: string[] = []): void {
  writeFileSync(
    join(home, 'bulwark.yaml'),
    [
      'engine: temporal',
      'temporal:',
      `  address: ${address}`,
      `  task_queue: ${prefix}-${randomUUID().slice(0, 8)}`,
      '  heartbeat_timeout_ms: 2000',
      '  shutdown_grace_time_ms: 1000',
      ...extra,
      '',
    ].join('\n'),
  );
}
