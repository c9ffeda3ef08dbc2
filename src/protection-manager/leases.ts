import { bwkError, reasonOf } from '../core/errors.js';
import type { Logger } from '../common/logging.js';
import type { BankPlugin, Lease } from '../bank/port.js';

/**
 * A live operation lease on `checkpointId` other than `exceptOperationId`, described for a message
 * (`restore 7c1e...`), or null. Restores and verifications hold one, so a checkpoint they read cannot
 * be deleted under them (a Karbor bug).
 */
export async function findLiveUser(bank: BankPlugin, checkpointId: string, exceptOperationId: string): Promise<string | null> {
  const now = Date.now();
  for (const lease of await bank.listLeases()) {
    const d = lease.data as { checkpointId?: string; operationId?: string; kind?: string; recordId?: string };
    if (d.checkpointId === checkpointId && d.operationId !== exceptOperationId && lease.expiresAt > now) {
      return `${d.kind ?? 'operation'} ${d.recordId ?? d.operationId ?? lease.owner}`;
    }
  }
  return null;
}

/**
 * Renews an operation's lease in the background while it runs. If a renewal finds the lease lost
 * (expired and recovered by another process), `onLost` stops the operation: writing on would race
 * the recovery that already marked it failed.
 */
export class LeaseKeeper {
  private timer: NodeJS.Timeout | undefined;
  private current: Lease;
  private renewing: Promise<void> = Promise.resolve();

  constructor(
    private readonly bank: BankPlugin,
    lease: Lease,
    private readonly ttlMs: number,
    intervalMs: number,
    private readonly onLost: (err: Error) => void,
    private readonly logger: Logger,
  ) {
    this.current = lease;
    this.timer = setInterval(() => {
      this.renewing = this.renew();
    }, intervalMs);
    this.timer.unref();
  }

  get lease(): Lease {
    return this.current;
  }

  private async renew(): Promise<void> {
    try {
      this.current = await this.bank.renewLease(this.current, this.ttlMs);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'BWK_ERR_LEASE_LOST') {
        this.stopTimer();
        this.onLost(bwkError('BWK_ERR_LEASE_LOST', { owner: this.current.owner }));
      } else {
        // A passing bank error: the next tick tries again while the lease still has time left.
        this.logger.warn('lease renewal failed; retrying', { owner: this.current.owner, error: reasonOf(err) });
      }
    }
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Stops renewing and returns the latest lease (for release). */
  async stop(): Promise<Lease> {
    this.stopTimer();
    await this.renewing;
    return this.current;
  }
}
