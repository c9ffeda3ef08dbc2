/**
 * Export and import as the CLI runs them, where the home is: the checkpoint found as the service
 * finds it, the passphrase read from the environment (never an argument), the keys trusted on import
 * (the home's own and the ones given), the new checkpoint made in the home's project.
 */
import type { BulwarkConfig } from '../../common/config.js';
import type { Logger } from '../../common/logging.js';
import { bwkError } from '../../core/errors.js';
import type { ProviderRegistry } from '../../providers/registry.js';
import type { CatalogStore } from '../../store/port.js';
import { providerByRef } from '../checkpoint-copy.js';
import type { ProtectionManager } from '../protection-manager.js';
import type { RequestContext } from '../request.js';
import { ownPublicKey, publicKeyBytes, readDeploymentKey } from './deployment-key.js';
import type { ExportReport } from './exporter.js';
import { exportCheckpoint } from './exporter.js';
import type { ImportReport } from './importer.js';
import { importArchive } from './importer.js';

export const DEFAULT_PASSPHRASE_ENV = 'BULWARK_EXPORT_PASSPHRASE';

export interface TransferDeps {
  home: string;
  config: BulwarkConfig;
  logger: Logger;
  providers: ProviderRegistry;
  store: CatalogStore;
  manager: ProtectionManager;
}

/** The passphrase from `variable`: at least 8 characters, or BWK_ERR_EXPORT_PASSPHRASE_REQUIRED. */
export function passphraseFrom(variable: string): Buffer {
  const value = process.env[variable];
  if (value === undefined || value.length < 8) throw bwkError('BWK_ERR_EXPORT_PASSPHRASE_REQUIRED', { variable });
  return Buffer.from(value, 'utf8');
}

export async function exportToFile(
  deps: TransferDeps,
  ctx: RequestContext,
  input: { checkpoint_id: string; provider_id?: string; out: string; passphrase_env?: string },
): Promise<ExportReport> {
  const passphrase = passphraseFrom(input.passphrase_env ?? DEFAULT_PASSPHRASE_ENV);
  const key = await readDeploymentKey(deps.home);
  const checkpoint = await deps.manager.showCheckpoint(ctx, input.checkpoint_id, input.provider_id);
  if (checkpoint.status !== 'available')
    throw bwkError('BWK_ERR_CHECKPOINT_STATE', { id: checkpoint.id, status: checkpoint.status, action: 'export', allowed: 'available' });
  const provider = deps.providers.get(checkpoint.provider_id);
  const plan = await deps.store.getPlan(checkpoint.project_id, checkpoint.protection_plan.id);
  const report = await exportCheckpoint({
    store: provider.chunks,
    checkpoint,
    plan: plan ? { id: plan.id, name: plan.name, description: plan.description, parameters: plan.parameters } : null,
    out: input.out,
    passphrase,
    key,
  });
  deps.logger.info('checkpoint exported', { ...report });
  return report;
}

export async function importFromFile(
  deps: TransferDeps,
  ctx: RequestContext,
  input: { file: string; provider_id: string; trust_keys?: string[]; passphrase_env?: string },
): Promise<ImportReport> {
  const variable = input.passphrase_env ?? DEFAULT_PASSPHRASE_ENV;
  const passphrase = passphraseFrom(variable);
  for (const k of input.trust_keys ?? []) publicKeyBytes(k);
  const own = await ownPublicKey(deps.home);
  const trusted = [...(own ? [own] : []), ...(input.trust_keys ?? [])];
  const provider = providerByRef(deps.providers, input.provider_id, '--provider');
  return importArchive({
    file: input.file,
    provider,
    trusted,
    passphrase,
    passphraseVariable: variable,
    home: deps.home,
    projectId: ctx.projectId,
    config: deps.config,
    logger: deps.logger,
  });
}
