/**
 * Karbor's quota API over the catalog: a project's limits (readable by its members, settable by
 * admins), with what it uses, and the quota classes whose `default` every project falls back to.
 * Served by whichever process holds the API (the catalog is shared), like triggers and scheduled
 * operations.
 */
import { bwkError } from '../core/errors.js';
import type { BulwarkConfig } from '../common/config.js';
import type { Logger } from '../common/logging.js';
import type { CatalogStore } from '../store/port.js';
import { DEFAULT_QUOTA_CLASS, QUOTA_NAME_LIST, QuotaLimits, UNLIMITED, type QuotaName } from './quota-limits.js';
import type { RequestContext } from './request.js';

/** Karbor's quota set: `{id, plans: 50, ...}`. */
export type QuotaSet = { id: string } & Record<QuotaName, number>;
/** Karbor's detailed quota set: each quota's limit, what is in use, and reserved (always 0 here: nothing is reserved ahead). */
export type QuotaDetail = { id: string } & Record<QuotaName, { limit: number; in_use: number; reserved: number }>;

const PROJECT_ID = /^[A-Za-z0-9_.-]{1,64}$/;
const MAX_LIMIT = 2 ** 31 - 1;

export class QuotaService {
  private readonly limits: QuotaLimits;

  constructor(private readonly deps: { store: CatalogStore; config: Pick<BulwarkConfig, 'quotas'>; logger: Logger }) {
    this.limits = new QuotaLimits(deps.store.quotas, deps.config.quotas);
  }

  /** The limits that apply to `projectId`. */
  async show(ctx: RequestContext, projectId: string): Promise<QuotaSet> {
    readable(ctx, projectId);
    const limits = await this.limits.projectLimits(projectId);
    return set(projectId, (n) => limits[n].limit);
  }

  /** The limits of `projectId` with what it uses. */
  async detail(ctx: RequestContext, projectId: string): Promise<QuotaDetail> {
    readable(ctx, projectId);
    const { store } = this.deps;
    const [limits, plans, triggers, operations] = await Promise.all([
      this.limits.projectLimits(projectId),
      store.countPlans(projectId),
      store.scheduling.countTriggers(projectId),
      store.scheduling.countScheduledOperations(projectId),
    ]);
    const inUse: Record<QuotaName, number> = { plans, triggers, scheduled_operations: operations };
    return {
      id: projectId,
      ...Object.fromEntries(QUOTA_NAME_LIST.map((n) => [n, { limit: limits[n].limit, in_use: inUse[n], reserved: 0 }])),
    } as QuotaDetail;
  }

  /** What a project gets when none of its own limits is set: the quota class `default`. */
  async defaults(ctx: RequestContext, projectId: string): Promise<QuotaSet> {
    readable(ctx, projectId);
    const limits = await this.limits.classLimits(DEFAULT_QUOTA_CLASS);
    return set(projectId, (n) => limits[n]);
  }

  /** Sets some of a project's limits (admins only); returns them all. */
  async update(ctx: RequestContext, projectId: string, values: unknown): Promise<QuotaSet> {
    adminOnly(ctx, 'quota-update');
    if (!PROJECT_ID.test(projectId))
      throw bwkError('BWK_ERR_INVALID_INPUT', { reason: 'project must be 1-64 letters, digits, "_", "." or "-"' });
    const checked = checkValues(values);
    await this.deps.store.quotas.setLimits('project', projectId, checked);
    this.deps.logger.info('project quotas set', { project: projectId, limits: checked, token_id: ctx.origin?.token_id });
    return this.show(ctx, projectId);
  }

  /** A quota class's limits. Only `default` applies to projects; other classes are kept, as Karbor kept them. */
  async showClass(ctx: RequestContext, className: string): Promise<QuotaSet> {
    checkClassName(className);
    const limits = await this.limits.classLimits(className);
    return set(className, (n) => limits[n]);
  }

  /** Sets some of a class's limits (admins only); returns them all. */
  async updateClass(ctx: RequestContext, className: string, values: unknown): Promise<QuotaSet> {
    adminOnly(ctx, 'quota-class-update');
    checkClassName(className);
    const checked = checkValues(values);
    await this.deps.store.quotas.setLimits('class', className, checked);
    this.deps.logger.info('quota class set', { class: className, limits: checked, token_id: ctx.origin?.token_id });
    return this.showClass(ctx, className);
  }
}

/** A member reads only its own project's quotas; another project answers 404, as every other record does. */
function readable(ctx: RequestContext, projectId: string): void {
  if (!ctx.admin && projectId !== ctx.projectId) throw bwkError('BWK_ERR_PROJECT_NOT_FOUND', { id: projectId });
}

function adminOnly(ctx: RequestContext, what: string): void {
  if (!ctx.admin) throw bwkError('BWK_ERR_FORBIDDEN', { reason: `${what} needs an admin token: members may read their project's quotas` });
}

function checkClassName(name: string): void {
  if (!PROJECT_ID.test(name))
    throw bwkError('BWK_ERR_INVALID_INPUT', { reason: 'a quota class name is 1-64 letters, digits, "_", "." or "-"' });
}

/** `{plans: 50, ...}`: known quota names only, each a whole number from -1 (unlimited) up. */
function checkValues(values: unknown): Partial<Record<QuotaName, number>> {
  if (!values || typeof values !== 'object' || Array.isArray(values))
    throw bwkError('BWK_ERR_INVALID_INPUT', { reason: `quotas must be an object such as {"plans": 50}` });
  const entries = Object.entries(values as Record<string, unknown>).filter(([, v]) => v !== null && v !== undefined);
  if (entries.length === 0)
    throw bwkError('BWK_ERR_INVALID_INPUT', { reason: `give at least one quota to set (${QUOTA_NAME_LIST.join(', ')})` });
  for (const [name, v] of entries) {
    if (!(QUOTA_NAME_LIST as string[]).includes(name))
      throw bwkError('BWK_ERR_INVALID_INPUT', { reason: `unknown quota "${name}" (quotas: ${QUOTA_NAME_LIST.join(', ')})` });
    if (typeof v !== 'number' || !Number.isInteger(v) || v < UNLIMITED || v > MAX_LIMIT)
      throw bwkError('BWK_ERR_INVALID_INPUT', { reason: `quota ${name} must be a whole number from -1 (unlimited) to ${MAX_LIMIT}` });
  }
  return Object.fromEntries(entries) as Partial<Record<QuotaName, number>>;
}

function set(id: string, value: (n: QuotaName) => number): QuotaSet {
  return { id, ...Object.fromEntries(QUOTA_NAME_LIST.map((n) => [n, value(n)])) } as QuotaSet;
}
