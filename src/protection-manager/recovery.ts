import { bwkError, reasonOf } from '../core/errors.js';
import type { Logger } from '../common/logging.js';
import { operationLeaseOwner } from '../bank/layout.js';
import type { BankPlugin, Lease } from '../bank/port.js';
import type { ProviderRegistry } from '../providers/registry.js';
import type { CatalogStore } from '../store/port.js';
import type { OperationRequest } from './engine.js';
import { kindOf } from './operations/index.js';
import type { Abandoned } from './operations/kind.js';
import { failReadingRecord } from './operations/reading.js';
import { abandonCheckpoint } from './operations/checkpoint-records.js';

export interface RecoveryReport {
  checkpoints: string[];
  restores: string[];
  verifications: string[];
}

/**
 * Marks operations whose process died as failed, once their lease has expired (Karbor left them
 * `protecting` / `in_progress` forever and refused to delete them). Run at start-up by every process
 * that can run operations. Breaking a lease is compare-and-delete, so an owner that renewed in time
 * keeps its operation, and two recovering processes never both act on one lease.
 */
export interface RecoveryDeps {
  providers: ProviderRegistry;
  store: CatalogStore;
  logger: Logger;
  leaseTtlMs: number;
  /**
   * Whether a durable engine still runs an operation whose lease expired (its workers may all be down
   * for a while; the workflow resumes when one returns). Absent: an expired lease means a dead process.
   */
  stillRunning?: (lease: Lease) => Promise<boolean>;
}

export async function recoverAbandonedOperations(deps: RecoveryDeps): Promise<RecoveryReport> {
  const report: RecoveryReport = { checkpoints: [], restores: [], verifications: [] };
  const now = Date.now();
  const banks = new Set<BankPlugin>(deps.providers.list().map((p) => p.bank));
  for (const bank of banks) {
    for (const lease of await bank.listLeases()) {
      if (lease.expiresAt > now || !lease.owner.startsWith('operation-')) continue;
      if (deps.stillRunning && (await deps.stillRunning(lease))) continue;
      if (!(await bank.breakLease(lease.owner, lease.token))) continue;
      try {
        await recoverOne(bank, lease, deps, report);
      } catch (err) {
        deps.logger.error('recovery of an abandoned operation failed', { lease: lease.owner, error: reasonOf(err) });
      }
    }
  }
  // A restore or verification whose process died before it took its lease has no lease to expire.
  const pending = await deps.store.listInProgress();
  const stale = (createdAt: string) => now - Date.parse(createdAt) > deps.leaseTtlMs;
  for (const [kind, records] of [
    ['restore', pending.restores],
    ['verify', pending.verifications],
  ] as const) {
    for (const r of records) {
      if (!stale(r.created_at)) continue;
      const provider = deps.providers.providers.get(r.provider_id);
      if (provider && (await provider.bank.getLease(operationLeaseOwner(r.id)))) continue;
      const reason = reasonOf(bwkError('BWK_ERR_OPERATION_ABANDONED', { id: r.id, expired_at: r.created_at }));
      note(report, await failReadingRecord(kind, deps.store, r.project_id, r.id, reason));
    }
  }
  if (report.checkpoints.length + report.restores.length + report.verifications.length > 0) {
    deps.logger.warn('recovered abandoned operations', { ...report });
  }
  return report;
}

async function recoverOne(bank: BankPlugin, lease: Lease, deps: RecoveryDeps, report: RecoveryReport): Promise<void> {
  const req = lease.data as unknown as OperationRequest;
  const copy = lease.data as { kind?: string; role?: string; checkpointId?: string; operationId?: string };
  if (copy.kind === 'copy') {
    // A copy (checkpoint-copy.ts) or import runs no engine operation: its target checkpoint fails, and asking again resumes it.
    if (copy.role === 'target' && copy.checkpointId) {
      const why = bwkError('BWK_ERR_OPERATION_ABANDONED', { id: copy.operationId, expired_at: new Date(lease.expiresAt).toISOString() });
      note(report, await abandonCheckpoint(bank, copy.checkpointId, reasonOf(why)));
    }
    return;
  }
  const reason = reasonOf(
    bwkError('BWK_ERR_OPERATION_ABANDONED', { id: req.operationId, expired_at: new Date(lease.expiresAt).toISOString() }),
  );
  note(report, await kindOf(req).abandon(req, bank, deps, reason));
}

const note = (report: RecoveryReport, failed: Abandoned): void => {
  if (failed) report[failed.list].push(failed.id);
};
