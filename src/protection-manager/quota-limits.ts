/**
 * Which limit applies to a project, and refusing what would pass it. A limit comes from the first
 * of: the project's own (set by an admin through the API), the quota class `default` (likewise), and
 * `quotas.*` in bulwark.yaml — so the config keeps working and stays the default of every project.
 */
import { bwkError } from '../core/errors.js';
import type { BulwarkConfig } from '../common/config.js';
import type { QuotaStore, QuotaValues } from '../store/quotas.js';

/** The counted quotas: Karbor's `plans`, and Bulwark's triggers and scheduled operations. */
export const QUOTA_NAMES = {
  plans: { key: 'plans_per_project', kind: 'plan' },
  triggers: { key: 'triggers_per_project', kind: 'trigger' },
  scheduled_operations: { key: 'scheduled_operations_per_project', kind: 'scheduled operation' },
} as const;

export type QuotaName = keyof typeof QUOTA_NAMES;
export const QUOTA_NAME_LIST = Object.keys(QUOTA_NAMES) as QuotaName[];

/** The class whose limits every project has unless its own are set (Karbor's name). */
export const DEFAULT_QUOTA_CLASS = 'default';
/** A limit of -1 is no limit (OpenStack's convention, which Karbor's client shows as it is). */
export const UNLIMITED = -1;

export interface EffectiveLimit {
  limit: number;
  /** Where it was set, for people: the error that refuses a create names it. */
  source: string;
}

export class QuotaLimits {
  constructor(
    private readonly store: QuotaStore,
    private readonly config: Pick<
      BulwarkConfig['quotas'],
      'plans_per_project' | 'triggers_per_project' | 'scheduled_operations_per_project'
    >,
  ) {}

  /** A quota class's limits: what is stored for it, else bulwark.yaml's. */
  async classLimits(className: string): Promise<Record<QuotaName, number>> {
    const stored = await this.store.limits('class', className);
    return fill((name) => stored[name] ?? this.config[QUOTA_NAMES[name].key]);
  }

  /** Every limit of a project, with where each comes from. */
  async projectLimits(projectId: string): Promise<Record<QuotaName, EffectiveLimit>> {
    const [own, byClass] = await Promise.all([this.store.limits('project', projectId), this.store.limits('class', DEFAULT_QUOTA_CLASS)]);
    return fill((name) => effective(name, own, byClass, this.config[QUOTA_NAMES[name].key]));
  }

  /**
   * Refuses one more `name` for a project that has `count` already (BWK_ERR_QUOTA_EXCEEDED, naming
   * the quota and where its limit was set). Counted before the insert: creates racing for the last
   * free slot may each get one — the quota bounds growth, it is not a billing meter.
   */
  async checkCount(projectId: string, name: QuotaName, count: number): Promise<void> {
    const { limit, source } = (await this.projectLimits(projectId))[name];
    if (limit !== UNLIMITED && count >= limit)
      throw bwkError('BWK_ERR_QUOTA_EXCEEDED', { project: projectId, count, kind: QUOTA_NAMES[name].kind, quota: name, source, limit });
  }
}

function effective(name: QuotaName, own: QuotaValues, byClass: QuotaValues, configured: number): EffectiveLimit {
  if (own[name] !== undefined) return { limit: own[name], source: 'set for the project' };
  if (byClass[name] !== undefined) return { limit: byClass[name], source: `quota class ${DEFAULT_QUOTA_CLASS}` };
  return { limit: configured, source: `quotas.${QUOTA_NAMES[name].key} in bulwark.yaml` };
}

function fill<T>(value: (name: QuotaName) => T): Record<QuotaName, T> {
  return Object.fromEntries(QUOTA_NAME_LIST.map((n) => [n, value(n)])) as Record<QuotaName, T>;
}
