/**
 * Subscriptions as the REST API and the CLI see them: input checked (the URL against the allow-list,
 * the filter against what operations can end as), tenancy applied (another project's subscription is
 * not found, never forbidden), the secret returned once by create and never again.
 */
import { assertUuid } from '../common/ids.js';
import { bwkError } from '../core/errors.js';
import type { Logger } from '../common/logging.js';
import type { NotificationsConfig } from '../common/config.js';
import type { RequestContext } from '../protection-manager/request.js';
import type {
  DeliveryRecord,
  NotificationStore,
  OperationKindName,
  SubscriptionFilter,
  SubscriptionRecord,
} from '../store/notifications.js';
import { checkWebhookUrl } from './url-policy.js';

export const KINDS: readonly OperationKindName[] = ['protect', 'restore', 'verify', 'delete'];
export const OUTCOMES: readonly string[] = ['available', 'error', 'deleted', 'success', 'fail'];
const MAX_LIST = 50;
const EMAIL = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$/;

export interface NewSubscription {
  target: { type: 'webhook'; url: string } | { type: 'email'; addresses: string[] };
  filter?: Partial<SubscriptionFilter>;
}

const invalid = (reason: string) => bwkError('BWK_ERR_INVALID_INPUT', { reason });

function listOf<T extends string>(name: string, value: unknown, check: (v: string) => T): T[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.length > MAX_LIST) throw invalid(`filter.${name} must be a list of at most ${MAX_LIST} strings`);
  return [
    ...new Set(
      value.map((v) =>
        typeof v === 'string'
          ? check(v)
          : (() => {
              throw invalid(`filter.${name} holds a non-string`);
            })(),
      ),
    ),
  ];
}

export function checkFilter(raw: unknown): SubscriptionFilter {
  if (raw === undefined || raw === null) return { kinds: [], outcomes: [], plan_ids: [] };
  if (typeof raw !== 'object' || Array.isArray(raw)) throw invalid('filter must be an object with kinds, outcomes and plan_ids');
  const f = raw as Record<string, unknown>;
  const extra = Object.keys(f).filter((k) => !['kinds', 'outcomes', 'plan_ids'].includes(k));
  if (extra.length > 0) throw invalid(`filter has unknown keys: ${extra.join(', ')} (allowed: kinds, outcomes, plan_ids)`);
  return {
    kinds: listOf('kinds', f.kinds, (v) => {
      if (!KINDS.includes(v as OperationKindName)) throw invalid(`filter.kinds: "${v}" is not one of ${KINDS.join(', ')}`);
      return v as OperationKindName;
    }),
    outcomes: listOf('outcomes', f.outcomes, (v) => {
      if (!OUTCOMES.includes(v)) throw invalid(`filter.outcomes: "${v}" is not one of ${OUTCOMES.join(', ')}`);
      return v;
    }),
    plan_ids: listOf('plan_ids', f.plan_ids, (v) => assertUuid('plan', v)),
  };
}

export class SubscriptionService {
  constructor(private readonly deps: { store: NotificationStore; config: NotificationsConfig; logger: Logger }) {}

  async create(ctx: RequestContext, input: NewSubscription): Promise<SubscriptionRecord & { secret: string }> {
    const target = input?.target;
    if (target?.type !== 'webhook' && target?.type !== 'email') throw invalid('target.type must be "webhook" or "email"');
    const filter = checkFilter(input.filter);
    const { secret, record } = await this.deps.store.createSubscription(
      target.type === 'webhook'
        ? { project_id: ctx.projectId, filter, target_type: 'webhook', url: this.checkUrl(target.url) }
        : { project_id: ctx.projectId, filter, target_type: 'email', addresses: this.checkAddresses(target.addresses) },
    );
    this.deps.logger.info('subscription created', {
      subscription: record.id,
      project: record.project_id,
      token_id: ctx.origin?.token_id ?? null,
    });
    return { ...record, secret };
  }

  private checkUrl(url: unknown): string {
    if (typeof url !== 'string' || url.length > 2048) throw invalid('target.url must be a URL of at most 2048 characters');
    return checkWebhookUrl(url, this.deps.config).toString();
  }

  private checkAddresses(addresses: unknown): string[] {
    if (!this.deps.config.email.smtp_host)
      throw invalid('e-mail targets need an SMTP relay: set notifications.email.smtp_host in bulwark.yaml (docs/notifications.md)');
    if (!Array.isArray(addresses) || addresses.length === 0 || addresses.length > 20)
      throw invalid('target.addresses must be a list of 1 to 20 e-mail addresses');
    for (const a of addresses as unknown[])
      // Deliberately narrow: no display names, comments or line breaks that could add headers or recipients.
      if (typeof a !== 'string' || a.length > 254 || !EMAIL.test(a))
        throw invalid(`target.addresses: "${String(a).slice(0, 80)}" is not a plain e-mail address (name@example.com)`);
    return [...new Set(addresses as string[])];
  }

  list(ctx: RequestContext): Promise<SubscriptionRecord[]> {
    return this.deps.store.listSubscriptions(ctx.admin && ctx.allProjects ? null : ctx.projectId);
  }

  async show(ctx: RequestContext, id: string): Promise<SubscriptionRecord> {
    assertUuid('subscription', id);
    const record = await this.deps.store.getSubscription(ctx.projectId, id);
    if (!record) throw bwkError('BWK_ERR_SUBSCRIPTION_NOT_FOUND', { id });
    return record;
  }

  async delete(ctx: RequestContext, id: string): Promise<void> {
    assertUuid('subscription', id);
    if (!(await this.deps.store.deleteSubscription(ctx.projectId, id))) throw bwkError('BWK_ERR_SUBSCRIPTION_NOT_FOUND', { id });
    this.deps.logger.info('subscription deleted', { subscription: id, project: ctx.projectId });
  }

  async deliveries(ctx: RequestContext, id: string): Promise<DeliveryRecord[]> {
    await this.show(ctx, id);
    return this.deps.store.listDeliveries(ctx.projectId, id);
  }
}
