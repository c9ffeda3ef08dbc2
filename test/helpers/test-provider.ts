import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RECORDER_PLUGIN } from './paths.js';

export const TEST_PROVIDER_ID = '5e7e57e5-0000-4000-8000-00000000a11d';

/**
 * Writes a provider that loads the test.recorder plugin from its file path — the way a provider
 * author ships a plugin — into `<home>/providers`.
 */
export function writeRecorderProvider(
  home: string,
  options: {
    logFile?: string;
    logEnd?: boolean;
    dependents?: Record<string, string[]>;
    id?: string;
    name?: string;
    bank?: Record<string, unknown>;
  } = {},
): string {
  mkdirSync(join(home, 'providers'), { recursive: true });
  const pluginOptions = {
    ...(options.logFile ? { log_file: options.logFile } : {}),
    ...(options.dependents ? { dependents: options.dependents } : {}),
    ...(options.logEnd ? { log_end: true } : {}),
  };
  const id = options.id ?? TEST_PROVIDER_ID;
  writeFileSync(
    join(home, 'providers', `${options.name ?? 'recorder'}.yaml`),
    [
      `id: ${id}`,
      `name: ${options.name ?? 'recorder'}`,
      'plugins:',
      '  - name: test.recorder',
      `    module: ${JSON.stringify(RECORDER_PLUGIN)}`,
      `    options: ${JSON.stringify(pluginOptions)}`,
      // The home's fs bank unless another is given (`{type: s3, options: {...}}`), as JSON (which is YAML).
      `bank: ${JSON.stringify(options.bank ?? { type: 'fs', options: { path: 'bank' } })}`,
      '',
    ].join('\n'),
  );
  return id;
}
