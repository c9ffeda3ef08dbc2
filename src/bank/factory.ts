import { resolve } from 'node:path';
import { bwkError } from '../core/errors.js';
import { FsBank } from './adapters/fs.js';
import { MemoryBank } from './adapters/memory.js';
import { DeferredS3Bank } from './adapters/s3-deferred.js';
import { parseS3Options } from './adapters/s3-options.js';
import type { BankPlugin } from './port.js';

/** How configuration names a bank: `{ type: fs, options: { path: bank } }` or `{ type: s3, options: { bucket: b } }`. */
export interface BankSpec {
  type: string;
  options?: Record<string, unknown>;
}

const BUILDERS: Record<string, (options: Record<string, unknown>, home: string) => BankPlugin> = {
  fs: (options, home) => {
    const path = options['path'] ?? 'bank';
    if (typeof path !== 'string' || path === '') {
      throw bwkError('BWK_ERR_INVALID_INPUT', { reason: `bank option "path" must be a non-empty string (got ${JSON.stringify(path)})` });
    }
    // Relative paths follow the Bulwark home, so the same config works wherever the home is.
    return new FsBank(resolve(home, path));
  },
  memory: () => new MemoryBank(),
  s3: (options, home) => new DeferredS3Bank(parseS3Options(options, home)),
};

/** Builds the bank adapter a configuration names; unknown types are refused with the known ones. */
export function createBank(spec: BankSpec, home: string): BankPlugin {
  const build = Object.hasOwn(BUILDERS, spec.type) ? BUILDERS[spec.type] : undefined;
  if (build === undefined) {
    throw bwkError('BWK_ERR_INVALID_INPUT', {
      reason: `bank type "${spec.type}" is unknown (known types: ${Object.keys(BUILDERS).join(', ')})`,
    });
  }
  return build(spec.options ?? {}, home);
}
