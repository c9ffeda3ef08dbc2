/**
 * Notification subscriptions and their webhook outbox (issue 22), in the catalog so every process of
 * a deployment sees the same ones: the process that records an operation's end writes the outbox rows,
 * whichever process runs a dispatcher delivers them, and a row is claimed by one dispatcher at a time.
 */
import { randomBytes } from 'node:crypto';
import type { ExpressionBuilder, Kysely } from 'kysely';
import { newId, nowIso } from '../common/ids.js';

export type OperationKindName = 'protect' | 'restore' | 'verify' | 'delete';

/** What a subscription matches; an empty list matches everything. */
export interface SubscriptionFilter {
  kinds: OperationKindName[];
  /** Final statuses: available, error, deleted, success, fail. */
  outcomes: string[];
  plan_ids: string[];
}

/** A subscription as listed: never its secret, which is shown once at creation. */
export interface SubscriptionRecord {
  id: string;
  project_id: string;
  target_type: 'webhook' | 'email';
  /** The webhook's URL; null for e-mail. */
  url: string | null;
  /** The e-mail recipients; null for a webhook. */
  addresses: string[] | null;
  filter: SubscriptionFilter;
  /** `enabled`, or `disabled` (a receiver answered 410 Gone). */
  status: 'enabled' | 'disabled';
  disabled_reason: string | null;
  created_at: string;
  updated_at: string;
}

export interface SubscriptionRow extends Omit<SubscriptionRecord, 'filter' | 'addresses'> {
  filter: string;
  addresses: string | null;
  secret: string;
}

/** One event for one subscription, with how its delivery went. */
export interface DeliveryRecord {
  id: string;
  subscription_id: string;
  project_id: string;
  event_id: string;
  event_type: string;
  /** pending (will be tried at next_attempt_at), delivered, failed (attempts exhausted), dropped (subscription disabled or gone). */
  status: 'pending' | 'delivered' | 'failed' | 'dropped';
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
  next_attempt_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface DeliveryRow extends DeliveryRecord {
  channel: 'webhook' | 'email';
  payload: string;
  claimed_by: string | null;
  claimed_until: string | null;
}

export interface NotificationDatabase {
  subscriptions: SubscriptionRow;
  notification_deliveries: DeliveryRow;
}

/** A delivery no owner holds at `now`: never claimed, or its claim has lapsed. */
const unclaimedAt = (now: string) => (eb: ExpressionBuilder<NotificationDatabase, 'notification_deliveries'>) =>
  eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<', now)]);

/** What the outbox needs to know of an ended operation. */
export interface EndedOperation {
  operationId: string;
  kind: OperationKindName;
  status: string;
  projectId: string;
  planId?: string;
  /** The CloudEvent to send, already serialised (the same bytes for every subscription). */
  payload: (eventId: string) => string;
  eventType: string;
}

/** A delivery a dispatcher holds, with what it needs to send it. */
export interface ClaimedDelivery {
  delivery: DeliveryRow;
  subscription: SubscriptionRow | null;
}

/** How one attempt went. */
export type AttemptResult =
  | { outcome: 'delivered'; statusCode: number | null }
  | { outcome: 'retry'; statusCode: number | null; error: string; nextAttemptAt: string }
  | { outcome: 'failed' | 'dropped'; statusCode: number | null; error: string };

/** What a new subscription is: a webhook URL or e-mail addresses, and its filter. */
export type NewSubscriptionRow = { project_id: string; filter: SubscriptionFilter } & (
  { target_type: 'webhook'; url: string } | { target_type: 'email'; addresses: string[] }
);

export interface NotificationStore {
  /** Creates a subscription and returns it with its secret — the only time the secret leaves the catalog. */
  createSubscription(input: NewSubscriptionRow): Promise<{ secret: string; record: SubscriptionRecord }>;
  getSubscription(projectId: string | null, id: string): Promise<SubscriptionRecord | null>;
  listSubscriptions(projectId: string | null): Promise<SubscriptionRecord[]>;
  /** False when it does not exist or belongs to another project. Its deliveries go with it. */
  deleteSubscription(projectId: string | null, id: string): Promise<boolean>;
  disableSubscription(id: string, reason: string): Promise<void>;
  /** Writes one pending delivery per matching enabled subscription; an event already queued for a subscription is not queued again. */
  enqueue(ended: EndedOperation): Promise<number>;
  /**
   * Claims up to `limit` due deliveries for `owner` until `until`; a claimed row is skipped by every
   * other owner. An e-mail delivery is due only once it was queued at or before `batchBefore`.
   */
  claimDue(owner: string, now: string, until: string, limit: number, batchBefore?: string): Promise<ClaimedDelivery[]>;
  /** Claims every other pending, unclaimed delivery of `subscriptionId` (the rest of an e-mail batch). */
  claimBatch(owner: string, subscriptionId: string, now: string, until: string): Promise<DeliveryRow[]>;
  /** Records an attempt of a delivery `owner` holds, and releases it. */
  recordAttempt(owner: string, id: string, result: AttemptResult): Promise<void>;
  listDeliveries(projectId: string | null, subscriptionId: string): Promise<DeliveryRecord[]>;
}

const SECRET_PREFIX = 'bwkwh_';
const LISTED_DELIVERY = [
  'id',
  'subscription_id',
  'project_id',
  'event_id',
  'event_type',
  'status',
  'attempts',
  'last_status_code',
  'last_error',
  'next_attempt_at',
  'created_at',
  'updated_at',
] as const;

function toRecord(row: SubscriptionRow): SubscriptionRecord {
  return {
    id: row.id,
    project_id: row.project_id,
    target_type: row.target_type,
    url: row.url ?? null,
    addresses: row.addresses ? (JSON.parse(row.addresses) as string[]) : null,
    filter: JSON.parse(row.filter) as SubscriptionFilter,
    status: row.status,
    disabled_reason: row.disabled_reason ?? null,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

export function matches(filter: SubscriptionFilter, ended: Pick<EndedOperation, 'kind' | 'status' | 'planId'>): boolean {
  if (filter.kinds.length > 0 && !filter.kinds.includes(ended.kind)) return false;
  if (filter.outcomes.length > 0 && !filter.outcomes.includes(ended.status)) return false;
  if (filter.plan_ids.length > 0 && (ended.planId === undefined || !filter.plan_ids.includes(ended.planId))) return false;
  return true;
}

export class KyselyNotificationStore implements NotificationStore {
  constructor(private readonly db: Kysely<NotificationDatabase>) {}

  async createSubscription(input: NewSubscriptionRow) {
    const secret = SECRET_PREFIX + randomBytes(32).toString('base64url');
    const now = nowIso();
    const row: SubscriptionRow = {
      id: newId(),
      project_id: input.project_id,
      target_type: input.target_type,
      url: input.target_type === 'webhook' ? input.url : null,
      addresses: input.target_type === 'email' ? JSON.stringify(input.addresses) : null,
      filter: JSON.stringify(input.filter),
      status: 'enabled',
      disabled_reason: null,
      secret,
      created_at: now,
      updated_at: now,
    };
    await this.db.insertInto('subscriptions').values(row).execute();
    return { secret, record: toRecord(row) };
  }

  async getSubscription(projectId: string | null, id: string): Promise<SubscriptionRecord | null> {
    let q = this.db.selectFrom('subscriptions').selectAll().where('id', '=', id);
    if (projectId !== null) q = q.where('project_id', '=', projectId);
    const row = await q.executeTakeFirst();
    return row ? toRecord(row) : null;
  }

  async listSubscriptions(projectId: string | null): Promise<SubscriptionRecord[]> {
    let q = this.db.selectFrom('subscriptions').selectAll().orderBy('created_at').orderBy('id');
    if (projectId !== null) q = q.where('project_id', '=', projectId);
    return (await q.execute()).map(toRecord);
  }

  async deleteSubscription(projectId: string | null, id: string): Promise<boolean> {
    return this.db.transaction().execute(async (tx) => {
      let q = tx.deleteFrom('subscriptions').where('id', '=', id);
      if (projectId !== null) q = q.where('project_id', '=', projectId);
      const r = await q.executeTakeFirst();
      if (Number(r.numDeletedRows) === 0) return false;
      await tx.deleteFrom('notification_deliveries').where('subscription_id', '=', id).execute();
      return true;
    });
  }

  async disableSubscription(id: string, reason: string): Promise<void> {
    await this.db
      .updateTable('subscriptions')
      .set({ status: 'disabled', disabled_reason: reason, updated_at: nowIso() })
      .where('id', '=', id)
      .execute();
  }

  async enqueue(ended: EndedOperation): Promise<number> {
    const subs = await this.db
      .selectFrom('subscriptions')
      .select(['id', 'filter', 'target_type'])
      .where('project_id', '=', ended.projectId)
      .where('status', '=', 'enabled')
      .execute();
    const now = nowIso();
    let queued = 0;
    for (const sub of subs) {
      if (!matches(JSON.parse(sub.filter) as SubscriptionFilter, ended)) continue;
      const eventId = `${ended.operationId}.${ended.status}`;
      const exists = await this.db
        .selectFrom('notification_deliveries')
        .select('id')
        .where('subscription_id', '=', sub.id)
        .where('event_id', '=', eventId)
        .executeTakeFirst();
      if (exists) continue;
      try {
        await this.db
          .insertInto('notification_deliveries')
          .values({
            id: newId(),
            subscription_id: sub.id,
            project_id: ended.projectId,
            event_id: eventId,
            event_type: ended.eventType,
            channel: sub.target_type,
            payload: ended.payload(eventId),
            status: 'pending',
            attempts: 0,
            last_status_code: null,
            last_error: null,
            next_attempt_at: now,
            claimed_by: null,
            claimed_until: null,
            created_at: now,
            updated_at: now,
          })
          .execute();
        queued++;
      } catch (err) {
        // The unique (subscription_id, event_id) index: another process queued it between the check and here.
        const again = await this.db
          .selectFrom('notification_deliveries')
          .select('id')
          .where('subscription_id', '=', sub.id)
          .where('event_id', '=', eventId)
          .executeTakeFirst();
        if (!again) throw err;
      }
    }
    return queued;
  }

  async claimDue(owner: string, now: string, until: string, limit: number, batchBefore: string = now): Promise<ClaimedDelivery[]> {
    const due = await this.db
      .selectFrom('notification_deliveries')
      .select('id')
      .where('status', '=', 'pending')
      .where('next_attempt_at', '<=', now)
      .where(unclaimedAt(now))
      .where((eb) => eb.or([eb('channel', '=', 'webhook'), eb('created_at', '<=', batchBefore)]))
      .orderBy('next_attempt_at')
      .orderBy('id')
      .limit(limit)
      .execute();
    const claimed: ClaimedDelivery[] = [];
    for (const { id } of due) {
      // A conditional update is the claim: on either engine only one owner's update matches the row.
      const r = await this.db
        .updateTable('notification_deliveries')
        .set({ claimed_by: owner, claimed_until: until })
        .where('id', '=', id)
        .where('status', '=', 'pending')
        .where(unclaimedAt(now))
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) !== 1) continue;
      const delivery = await this.db.selectFrom('notification_deliveries').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
      const subscription =
        (await this.db.selectFrom('subscriptions').selectAll().where('id', '=', delivery.subscription_id).executeTakeFirst()) ?? null;
      claimed.push({ delivery, subscription });
    }
    return claimed;
  }

  async claimBatch(owner: string, subscriptionId: string, now: string, until: string): Promise<DeliveryRow[]> {
    await this.db
      .updateTable('notification_deliveries')
      .set({ claimed_by: owner, claimed_until: until })
      .where('subscription_id', '=', subscriptionId)
      .where('status', '=', 'pending')
      .where(unclaimedAt(now))
      .execute();
    // Only what this owner holds now: rows another owner claimed meanwhile are theirs.
    return this.db
      .selectFrom('notification_deliveries')
      .selectAll()
      .where('subscription_id', '=', subscriptionId)
      .where('status', '=', 'pending')
      .where('claimed_by', '=', owner)
      .where('claimed_until', '=', until)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
  }

  async recordAttempt(owner: string, id: string, result: AttemptResult): Promise<void> {
    const row = await this.db.selectFrom('notification_deliveries').select('attempts').where('id', '=', id).executeTakeFirst();
    if (!row) return;
    const counted = result.outcome === 'dropped' && result.statusCode === null ? 0 : 1;
    await this.db
      .updateTable('notification_deliveries')
      .set({
        status: result.outcome === 'retry' ? 'pending' : result.outcome,
        attempts: Number(row.attempts) + counted,
        last_status_code: result.statusCode,
        last_error: result.outcome === 'delivered' ? null : result.error,
        next_attempt_at: result.outcome === 'retry' ? result.nextAttemptAt : null,
        claimed_by: null,
        claimed_until: null,
        updated_at: nowIso(),
      })
      .where('id', '=', id)
      .where('claimed_by', '=', owner)
      .execute();
  }

  async listDeliveries(projectId: string | null, subscriptionId: string): Promise<DeliveryRecord[]> {
    let q = this.db
      .selectFrom('notification_deliveries')
      .select([...LISTED_DELIVERY])
      .where('subscription_id', '=', subscriptionId)
      .orderBy('created_at')
      .orderBy('id');
    if (projectId !== null) q = q.where('project_id', '=', projectId);
    return (await q.execute()).map((r) => ({ ...r, attempts: Number(r.attempts) }));
  }
}
