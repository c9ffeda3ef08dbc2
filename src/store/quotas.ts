/**
 * Quota limits set through the API (Karbor's `quotas` and `quota_classes`), in the catalog so every
 * process of a deployment enforces the same ones. What is not set here falls back to the quota class
 * `default`, then to `quotas.*` in bulwark.yaml (src/protection-manager/quota-limits.ts).
 */
import type { Kysely } from 'kysely';
import { nowIso } from '../common/ids.js';

/** Whose limits a row holds: one project's, or a quota class's. */
export type QuotaScope = 'project' | 'class';

/** Limits by quota name (`plans`, `triggers`...); -1 is unlimited. */
export type QuotaValues = Record<string, number>;

export interface QuotaRow {
  scope: QuotaScope;
  owner: string;
  resource: string;
  hard_limit: number;
  updated_at: string;
}

export interface QuotaDatabase {
  quota_limits: QuotaRow;
}

/** The quota port: limits stored per project and per quota class. */
export interface QuotaStore {
  /** The limits set for `owner` (a project id or a class name); {} when none is. */
  limits(scope: QuotaScope, owner: string): Promise<QuotaValues>;
  /** Sets the given limits of `owner`, leaving the ones not given as they are; all or none are written. */
  setLimits(scope: QuotaScope, owner: string, values: QuotaValues): Promise<void>;
}

export class KyselyQuotaStore implements QuotaStore {
  constructor(private readonly db: Kysely<QuotaDatabase>) {}

  async limits(scope: QuotaScope, owner: string): Promise<QuotaValues> {
    const rows = await this.db
      .selectFrom('quota_limits')
      .select(['resource', 'hard_limit'])
      .where('scope', '=', scope)
      .where('owner', '=', owner)
      .execute();
    return Object.fromEntries(rows.map((r) => [r.resource, Number(r.hard_limit)]));
  }

  async setLimits(scope: QuotaScope, owner: string, values: QuotaValues): Promise<void> {
    const entries = Object.entries(values);
    if (entries.length === 0) return;
    const updated_at = nowIso();
    // Delete then insert in one transaction: portable on both engines (no upsert syntax needed).
    await this.db.transaction().execute(async (tx) => {
      await tx
        .deleteFrom('quota_limits')
        .where('scope', '=', scope)
        .where('owner', '=', owner)
        .where(
          'resource',
          'in',
          entries.map(([resource]) => resource),
        )
        .execute();
      await tx
        .insertInto('quota_limits')
        .values(entries.map(([resource, hard_limit]) => ({ scope, owner, resource, hard_limit, updated_at })))
        .execute();
    });
  }
}
