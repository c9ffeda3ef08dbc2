import type { BulwarkConfig } from '../common/config.js';
import type { RestorePolicy } from '../plugins/api.js';
import type { ProviderRegistry } from '../providers/registry.js';

/**
 * This process's restore policy: the configured allowed target paths, and the paths no restore may
 * ever write into — Bulwark's own state, the home and every bank on this machine (a restore written
 * there could plant a provider file that loads code at the next start, or overwrite checkpoints).
 */
export function restorePolicyOf(config: BulwarkConfig, home: string, providers: ProviderRegistry): RestorePolicy {
  return { allowedTargetPaths: config.restore.allowed_target_paths, forbiddenPaths: [home, ...localBankDirectories(providers)] };
}

/** The directories of the banks on this machine. */
export const localBankDirectories = (providers: ProviderRegistry): string[] =>
  providers.list().flatMap((p) => (p.bank.localDirectory ? [p.bank.localDirectory] : []));
