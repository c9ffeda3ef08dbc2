/**
 * The operation engine: fires scheduled operations when their triggers say, through the
 * ProtectionService port (in process when embedded, over RPC when distributed). Each tick, the
 * leader (leader.ts) claims due fires as operation log rows — unique per (scheduled operation, fire)
 * in the catalog, so a fire runs once however many instances there are — and moves every unfinished
 * run one step on: start it, ask how it is doing, apply retention, log the outcome. All its state is
 * in the catalog: an instance that dies leaves nothing another cannot pick up.
 */
import type { OperationEngineConfig } from '../common/config.js';
import type { Logger } from '../common/logging.js';
import { isBulwarkError, reasonOf } from '../core/errors.js';
import type { OperationEvents } from '../protection-manager/events.js';
import type { ProtectionService } from '../protection-manager/service.js';
import type { CatalogStore } from '../store/port.js';
import type { OperationLogRow, ScheduledOperationRecord } from '../store/scheduling-records.js';
import { dueSince, type DueTime } from './due-times.js';
import type { LeaderLease } from './leader.js';
import { notRun, overlapReason, runLogRow, type Fire } from './run-rows.js';
import { applyRetention, outcomeOf, projectContext, runOneCall, runsInOneCall, startRun } from './runs.js';
import type { TimeSchedule } from './time-trigger.js';
import { scheduleOf } from './trigger-properties.js';
import { overlapFamily } from './operation-types.js';
import { operationEngineLeader, scheduledFireTotal, scheduledLastSuccess } from '../common/metrics.js';
import { refreshLastSuccess } from './schedule-metrics.js';

export interface OperationEngineDeps {
  store: CatalogStore;
  service: ProtectionService;
  /** Operation events: hints that a run ended or a checkpoint became available (polling covers their loss). */
  events?: OperationEvents;
  leader: LeaderLease;
  config: OperationEngineConfig;
  logger: Logger;
  now?: () => number;
  /** rpc.long_timeout_ms: how long a bank upkeep call may take; past it (and a margin), a run nobody holds is called lost. */
  bankRunTimeoutMs?: number;
}

/** Claims and runs per tick, so one tick stays short however much is due. */
const BATCH = 1000;

/** A tick's schedules by trigger id, with the due-time lists and next fires computed from them. */
type Schedules = Map<string, { schedule: TimeSchedule; dues: Map<string, DueTime[]>; next: Map<number, number | null> } | null>;
const PRUNE_INTERVAL_MS = 3_600_000;
/** How often the last-success gauges are read again from the catalog (a common Prometheus scrape interval). */
const METRICS_REFRESH_MS = 15_000;
/** Fires of one scheduled operation that may wait behind its plan's run (overlap: queue); later ones are skipped. */
export const QUEUE_LIMIT = 20;
/** How long a manual run may have no operation record before it is called over (its start died). */
const MANUAL_RECORD_GRACE_MS = 10 * 60_000;

const QUEUE_FULL = `${QUEUE_LIMIT} fires of this scheduled operation already wait in the queue (overlap: queue)`;
/** Plans whose runs are moved on at once (each step is a few catalog queries and at most one service call). */
const STEP_LANES = 16;
/** rpc.long_timeout_ms's default. */
const BANK_RUN_TIMEOUT_MS = 6 * 3_600_000;
const BANK_RUN_LOST = "the engine running it stopped; its outcome is unknown — see the protection service's log";

export class OperationEngine {
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private stopped = false;
  private leading = false;
  /** Runs to ask about at the next tick rather than after poll_interval_ms (an event said they ended). */
  private readonly pollNow = new Set<string>();
  private readonly lastPolled = new Map<string, number>();
  private lastEventScan = 0;
  private leadCheckedAt = 0;
  private lastPrune = 0;
  private lastMetricsRefresh = 0;
  private unsubscribe: (() => void) | undefined;
  /** Bank upkeep calls this instance is waiting on, by run id: they may take hours, so no tick awaits them. */
  private readonly bankRuns = new Map<string, Promise<void>>();

  constructor(private readonly deps: OperationEngineDeps) {
    this.now = deps.now ?? Date.now;
  }

  get isLeading(): boolean {
    return this.leading;
  }

  start(): void {
    this.unsubscribe = this.deps.events?.subscribe((e) => {
      if (e.type !== 'operation_finished') return;
      // Only a leader steps runs (a standby's set would only grow).
      if (this.leading) this.pollNow.add(e.operationId);
      if (e.kind === 'protect' && e.status === 'available' && e.planId)
        void this.onCheckpointAvailable(e.projectId, e.planId, e.checkpointId).catch((err: unknown) =>
          this.deps.logger.warn('operation engine: event fire failed (the scan will retry)', { error: reasonOf(err) }),
        );
    });
    const loop = () => {
      if (this.stopped) return;
      this.ticking = this.tick()
        .catch((err: unknown) => this.deps.logger.warn('operation engine: tick failed', { error: reasonOf(err) }))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(loop, this.deps.config.tick_interval_ms);
        });
    };
    loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.unsubscribe?.();
    await this.ticking;
    await this.abandonBankRuns();
    this.leading = false;
    await this.deps.leader.close();
  }

  /** One pass: lead or not; if leading, claim what is due and move every unfinished run on. */
  async tick(): Promise<void> {
    const was = this.leading;
    this.leading = await this.deps.leader.lead();
    this.leadCheckedAt = Date.now();
    if (this.leading !== was) this.deps.logger.info(`operation engine: ${this.leading ? 'leading' : 'standing by'}`);
    operationEngineLeader.set(this.leading ? 1 : 0);
    if (Date.now() - this.lastMetricsRefresh >= METRICS_REFRESH_MS) {
      this.lastMetricsRefresh = Date.now();
      await refreshLastSuccess(this.deps.store, this.now()).catch((err: unknown) =>
        this.deps.logger.warn('operation engine: last successes not read for metrics', { error: reasonOf(err) }),
      );
    }
    if (!this.leading) return;
    await this.claimDue();
    // Intervals between the engine's own chores are real time, whatever clock due times are read on.
    const now = Date.now();
    if (now - this.lastEventScan >= this.deps.config.event_scan_interval_ms) {
      this.lastEventScan = now;
      await this.scanEvents();
    }
    await this.advance();
    if (now - this.lastPrune >= PRUNE_INTERVAL_MS) {
      this.lastPrune = now;
      const before = new Date(this.now() - this.deps.config.log_retention_days * 86_400_000).toISOString();
      const pruned = await this.deps.store.scheduling.pruneLogs(before);
      if (pruned > 0) this.deps.logger.info('operation engine: old operation logs deleted', { count: pruned, before });
    }
  }

  /**
   * Whether this instance still leads, asked again when a third of a lease has passed since last: a
   * long tick (slow starts, retention) must not go on stepping runs after its lease lapsed.
   */
  private async stillLeading(): Promise<boolean> {
    if (Date.now() - this.leadCheckedAt < this.deps.config.leader_lease_ttl_ms / 3) return this.leading;
    this.leadCheckedAt = Date.now();
    this.leading = await this.deps.leader.lead();
    return this.leading;
  }

  /** Claims the due times of every scheduled operation whose cursor has passed, and moves its cursor on. */
  private async claimDue(): Promise<void> {
    const scheduling = this.deps.store.scheduling;
    const now = this.now();
    // Operations sharing a trigger share its schedule and, mostly, their cursor: each due time list is
    // computed once per tick (a calendar rule's cost grows with its age: rrule walks from its start).
    const schedules: Schedules = new Map();
    for (const op of await scheduling.dueScheduledOperations(new Date(now).toISOString(), BATCH)) {
      if (!this.leading) return;
      try {
        await this.claimDueOf(op, schedules, now);
      } catch (err) {
        // One operation that cannot be read or scheduled must not stop every other one.
        scheduledFireTotal.inc({ outcome: 'not_fired' });
        this.deps.logger.warn('operation engine: a scheduled operation could not be fired', {
          scheduled_operation: op.id,
          error: reasonOf(err),
        });
      }
    }
  }

  private async claimDueOf(op: ScheduledOperationRecord, schedules: Schedules, now: number): Promise<void> {
    const scheduling = this.deps.store.scheduling;
    if (!schedules.has(op.trigger_id)) {
      const trigger = await scheduling.getTrigger(null, op.trigger_id);
      schedules.set(
        op.trigger_id,
        trigger?.type === 'time'
          ? { schedule: scheduleOf(trigger.properties, Date.parse(trigger.created_at)), dues: new Map(), next: new Map() }
          : null,
      );
    }
    const shared = schedules.get(op.trigger_id);
    if (!shared) {
      // Its trigger is gone or is not a time trigger: nothing will ever be due; stop looking at it.
      await scheduling.updateScheduledOperation(null, op.id, { next_due_at: null });
      return;
    }
    const { schedule } = shared;
    let dues = shared.dues.get(op.next_due_at!);
    if (!dues) shared.dues.set(op.next_due_at!, (dues = dueSince(schedule, Date.parse(op.next_due_at!) - 1, now, BATCH)));
    for (const due of dues) {
      const dueAt = new Date(due.due).toISOString();
      await this.claim(op, { fireKey: `due:${dueAt}`, dueAt, dropped: due.outcome === 'dropped_out_of_window' });
    }
    const last = dues.at(-1)?.due ?? now;
    const from = Math.max(last, dues.length === BATCH ? last : now);
    if (!shared.next.has(from)) shared.next.set(from, schedule.nextDue(from));
    const next = shared.next.get(from)!;
    await scheduling.updateScheduledOperation(null, op.id, { next_due_at: next === null ? null : new Date(next).toISOString() });
  }

  /** Writes the fire's log row; false when another instance (or an earlier tick) already has it. */
  private async claim(op: ScheduledOperationRecord, fire: Fire): Promise<boolean> {
    const scheduling = this.deps.store.scheduling;
    const busy =
      fire.dropped || fire.fireKey.startsWith('event:') || op.plan_id === null
        ? false
        : await scheduling.planBusy(op.plan_id, overlapFamily(op.operation_type));
    let row = runLogRow(op, { ...fire, busy }, new Date(this.now()).toISOString());
    // A plan stuck behind a long run must not pile up a queue that grows every due time: it is bounded.
    if (row.phase === 'queued' && (await scheduling.queuedCount(op.id)) >= QUEUE_LIMIT)
      row = { ...row, ...notRun('skipped_overlap', QUEUE_FULL, row.created_at) };
    const claimed = await scheduling.insertLog(row);
    if (claimed) scheduledFireTotal.inc({ outcome: row.status === 'running' ? 'started' : row.status });
    if (claimed && row.status !== 'running')
      this.deps.logger[row.status === 'queued' ? 'info' : 'warn'](`operation engine: fire ${row.status}`, {
        scheduled_operation: op.id,
        due_at: row.due_at,
        reason: row.error_info,
      });
    return claimed;
  }

  /** An event trigger's hint: claims the verification of that checkpoint for every operation waiting on its plan. */
  private async onCheckpointAvailable(projectId: string, planId: string, checkpointId: string): Promise<void> {
    for (const op of await this.deps.store.scheduling.eventScheduledOperations()) {
      if (op.project_id !== projectId || op.plan_id !== planId) continue;
      await this.claim(op, { fireKey: `event:${checkpointId}`, dueAt: new Date(this.now()).toISOString(), checkpointId });
    }
  }

  /** Catches events missed while no engine listened: recent available checkpoints of each event operation's plan. */
  private async scanEvents(): Promise<void> {
    // Never further back than logs are kept: a checkpoint whose verification log was pruned would be verified again.
    const lookback =
      this.now() - Math.min(this.deps.config.event_lookback_hours * 3_600_000, this.deps.config.log_retention_days * 86_400_000);
    for (const op of await this.deps.store.scheduling.eventScheduledOperations()) {
      // Only checkpoints made after the operation was: creating one must not verify the whole history.
      const since = new Date(Math.max(lookback, Date.parse(op.created_at)));
      const checkpoints = await this.deps.service
        .listCheckpoints(projectContext(op.project_id), { planId: op.plan_id!, status: 'available', since, limit: 1000 })
        .catch((err: unknown) => {
          this.deps.logger.warn('operation engine: event scan failed', { scheduled_operation: op.id, error: reasonOf(err) });
          return [];
        });
      for (const c of checkpoints) {
        // A copy is a checkpoint of the plan too, but copying it on would copy copies.
        if (op.operation_type === 'copy' && c.extra_info.copy_of) continue;
        const fire: Fire = { fireKey: `event:${c.id}`, dueAt: new Date(this.now()).toISOString(), checkpointId: c.id };
        if (await this.deps.store.scheduling.getLogRow(runLogRow(op, fire).id)) continue;
        if (await this.claim(op, fire)) this.deps.logger.info('operation engine: missed event fired by the scan', { checkpoint: c.id });
      }
    }
  }

  /** Moves every unfinished run one step on. */
  private async advance(): Promise<void> {
    // Runs of one plan in order (a queued fire must see its predecessor's phase), plans side by side:
    // a start waits for the operation's record, and a thousand of them one after another took minutes.
    const byPlan = new Map<string, OperationLogRow[]>();
    const active = await this.deps.store.scheduling.activeRuns(BATCH);
    for (const row of active) {
      const key = row.plan_id ?? row.id;
      byPlan.set(key, [...(byPlan.get(key) ?? []), row]);
    }
    // Runs settled elsewhere (or by an earlier leader) are forgotten here too.
    const ids = new Set(active.map((r) => r.id));
    for (const id of [...this.lastPolled.keys(), ...this.pollNow]) {
      if (ids.has(id)) continue;
      this.lastPolled.delete(id);
      this.pollNow.delete(id);
    }
    const groups = [...byPlan.values()];
    const lane = async (): Promise<void> => {
      for (let group = groups.shift(); group && !this.stopped && (await this.stillLeading()); group = groups.shift()) {
        for (const row of group) {
          try {
            await this.step(row);
          } catch (err) {
            this.deps.logger.warn('operation engine: run step failed (tried again next tick)', { run: row.id, error: reasonOf(err) });
          }
        }
      }
    };
    await Promise.all(Array.from({ length: STEP_LANES }, lane));
  }

  private async step(row: OperationLogRow): Promise<void> {
    const scheduling = this.deps.store.scheduling;
    const now = this.now();
    const nowIso = new Date(now).toISOString();
    // Read only where a step needs it: most ticks only ask how a started run is doing.
    const scheduledOperation = () =>
      row.scheduled_operation_id === null ? Promise.resolve(null) : scheduling.getScheduledOperation(null, row.scheduled_operation_id);
    switch (row.phase) {
      case 'queued':
        if (row.plan_id === null || !(await scheduling.planBusy(row.plan_id, overlapFamily(row.operation_type), row.id)))
          await scheduling.advanceRun(row.id, 'queued', { phase: 'claimed', status: 'running' });
        return;
      case 'claimed':
      case 'starting': {
        const reclaimed = row.phase === 'starting';
        if (reclaimed) {
          // Another instance took it to start and has not finished for a whole lease: it died. Re-claim.
          const stale = new Date(now - 2 * this.deps.config.leader_lease_ttl_ms).toISOString();
          if (row.updated_at > stale) return;
          if (!(await scheduling.advanceRun(row.id, 'starting', { phase: 'starting' }, row.updated_at))) return;
        } else {
          // Claimed while the plan was free, but a run-now or another fire may have started since.
          if (row.plan_id !== null && row.scheduled_operation_id !== null && !row.fire_key?.startsWith('event:')) {
            if (await scheduling.planBusy(row.plan_id, overlapFamily(row.operation_type), row.id)) {
              const op = await scheduledOperation();
              const patch =
                op?.overlap === 'queue'
                  ? { phase: 'queued' as const, status: 'queued' as const }
                  : notRun('skipped_overlap', overlapReason(row.plan_id), nowIso);
              await scheduling.advanceRun(row.id, 'claimed', patch);
              return;
            }
          }
          if (!(await scheduling.advanceRun(row.id, 'claimed', { phase: 'starting' }))) return;
        }
        const op = await scheduledOperation();
        if (op === null && row.scheduled_operation_id !== null) {
          await scheduling.advanceRun(row.id, 'starting', {
            phase: 'done',
            status: 'error',
            ended_at: nowIso,
            error_info: 'its scheduled operation was deleted',
          });
          return;
        }
        // A re-claimed run may have started before its starter died: only a fresh claim is judged late.
        if (!reclaimed && row.due_at !== null && row.fire_key?.startsWith('due:') && op) {
          const trigger = await scheduling.getTrigger(null, op.trigger_id);
          const windowMs = Number(trigger?.properties.window ?? 0) * 1000;
          if (now - Date.parse(row.due_at) > windowMs) {
            const reason = `claimed, but not started within its trigger's window (${windowMs / 1000} s) after its due time ${row.due_at}`;
            await scheduling.advanceRun(row.id, 'starting', notRun('dropped_out_of_window', reason, nowIso));
            return;
          }
        }
        if (runsInOneCall(row.operation_type)) return this.startBankRun(row, op, nowIso);
        try {
          const gained = await startRun(this.deps.service, row, op);
          // From `starting` only: an instance that re-claimed and settled it meanwhile keeps its word.
          await scheduling.advanceRun(row.id, 'starting', { ...gained, phase: 'started', started_at: nowIso });
          this.deps.logger.info('operation engine: run started', { run: row.id, type: row.operation_type, due_at: row.due_at });
        } catch (err) {
          if (isBulwarkError(err, 'BWK_ERR_RPC_TIMEOUT') || isBulwarkError(err, 'BWK_ERR_SERVICE_UNAVAILABLE')) {
            // The start may have happened: left `starting`, it is re-claimed and started again by its id.
            this.deps.logger.warn('operation engine: no answer to a start (tried again)', { run: row.id, error: reasonOf(err) });
            return;
          }
          await scheduling.advanceRun(row.id, 'starting', { phase: 'done', status: 'error', ended_at: nowIso, error_info: reasonOf(err) });
          this.deps.logger.warn('operation engine: run could not start', { run: row.id, error: reasonOf(err) });
        }
        return;
      }
      case 'started': {
        if (runsInOneCall(row.operation_type)) return this.settleLostBankRun(row, now, nowIso);
        const wall = Date.now();
        const polled = this.lastPolled.get(row.id) ?? 0;
        if (!this.pollNow.has(row.id) && wall - polled < this.deps.config.poll_interval_ms) return;
        this.pollNow.delete(row.id);
        this.lastPolled.set(row.id, wall);
        const outcome = await outcomeOf(this.deps.service, row).catch((err: unknown) => {
          // A scheduled run's record existed when it started; a manual one's may never have been made
          // (its start failed in a process that died): after a grace, the run is over either way.
          const grace = row.scheduled_operation_id === null ? MANUAL_RECORD_GRACE_MS : 0;
          if (!isBulwarkError(err, 'BWK_ERR_OPERATION_NOT_FOUND') || now - Date.parse(row.started_at ?? row.created_at) < grace) throw err;
          return { done: true as const, ok: false, status: 'gone', reason: 'its operation record is gone (deleted, or never made)' };
        });
        if (!outcome.done) return;
        let extra = row.extra_info;
        const op = outcome.ok && row.operation_type === 'retention_protect' ? await scheduledOperation() : null;
        if (op) {
          const trigger = await scheduling.getTrigger(null, op.trigger_id);
          // The protect succeeded whatever retention meets: a failure is reported, and retried at the next fire.
          const retention = await applyRetention(this.deps.service, op, trigger, now).catch((err: unknown) => ({
            retention: { deleted: [], failed: [{ reason: reasonOf(err) }] },
          }));
          extra = { ...extra, ...retention };
        }
        await scheduling.advanceRun(row.id, 'started', {
          phase: 'done',
          status: outcome.ok ? 'success' : 'error',
          ended_at: nowIso,
          extra_info: extra,
          ...(outcome.ok ? {} : { error_info: outcome.reason ?? null }),
        });
        if (outcome.ok && row.scheduled_operation_id)
          scheduledLastSuccess.set({ scheduled_operation: row.scheduled_operation_id }, now / 1000);
        this.lastPolled.delete(row.id);
        return;
      }
      default:
        return;
    }
  }

  /**
   * Bank upkeep and copy are one service call that returns when the work is done, hours later maybe: the row is
   * marked started, then the call runs in the background and its settling writes the outcome. A tick
   * never awaits it, so other fires go on meanwhile.
   */
  private async startBankRun(row: OperationLogRow, op: ScheduledOperationRecord | null, nowIso: string): Promise<void> {
    const scheduling = this.deps.store.scheduling;
    if (!(await scheduling.advanceRun(row.id, 'starting', { phase: 'started', started_at: nowIso }))) return;
    this.deps.logger.info('operation engine: run started', { run: row.id, type: row.operation_type, due_at: row.due_at });
    const trigger = op && row.operation_type === 'copy' ? await scheduling.getTrigger(null, op.trigger_id) : null;
    const run = runOneCall(this.deps.service, row, op, trigger, this.now())
      .then(
        (o) => ({
          status: o.ok ? ('success' as const) : ('error' as const),
          error_info: o.error_info,
          extra_info: { ...row.extra_info, ...o.extra_info },
        }),
        (err: unknown) => ({ status: 'error' as const, error_info: reasonOf(err) }),
      )
      .then(async (outcome) => {
        const ended_at = new Date(this.now()).toISOString();
        if (!(await scheduling.advanceRun(row.id, 'started', { ...outcome, phase: 'done', ended_at })))
          throw new Error('its log row is no longer started');
        if (outcome.status === 'success' && row.scheduled_operation_id)
          scheduledLastSuccess.set({ scheduled_operation: row.scheduled_operation_id }, Date.parse(ended_at) / 1000);
        this.deps.logger[outcome.status === 'success' ? 'info' : 'warn'](
          `operation engine: ${row.operation_type} ended ${outcome.status}`,
          {
            run: row.id,
            ...(outcome.error_info ? { reason: outcome.error_info } : {}),
          },
        );
      })
      .catch((err: unknown) =>
        this.deps.logger.warn('operation engine: the outcome of a bank run could not be logged', { run: row.id, error: reasonOf(err) }),
      )
      .finally(() => this.bankRuns.delete(row.id));
    this.bankRuns.set(row.id, run);
  }

  /**
   * A started bank run this instance is not waiting on: another instance is (it led before), or the one
   * that was died or stopped with it. Not run again — its call may still be running in the protection
   * service, and the next due time runs the upkeep anyway — but logged error once no caller can still be
   * waiting for its reply: past rpc.long_timeout_ms, and two leader leases more, so that a live caller,
   * whose call fails at that timeout, writes its own outcome first.
   */
  private async settleLostBankRun(row: OperationLogRow, now: number, nowIso: string): Promise<void> {
    if (this.bankRuns.has(row.id)) return;
    const limit = (this.deps.bankRunTimeoutMs ?? BANK_RUN_TIMEOUT_MS) + 2 * this.deps.config.leader_lease_ttl_ms;
    if (now - Date.parse(row.started_at ?? row.updated_at) <= limit) return;
    const patch = { phase: 'done' as const, status: 'error' as const, ended_at: nowIso, error_info: BANK_RUN_LOST };
    if (await this.deps.store.scheduling.advanceRun(row.id, 'started', patch))
      this.deps.logger.warn('operation engine: a bank run nobody waited on was logged error', { run: row.id, started_at: row.started_at });
  }

  /** At stop: the bank calls still awaited will be answered to nobody (or die with this process); their logs say so now. */
  private async abandonBankRuns(): Promise<void> {
    const nowIso = new Date(this.now()).toISOString();
    for (const id of [...this.bankRuns.keys()]) {
      this.bankRuns.delete(id);
      const patch = { phase: 'done' as const, status: 'error' as const, ended_at: nowIso, error_info: BANK_RUN_LOST };
      await this.deps.store.scheduling
        .advanceRun(id, 'started', patch)
        .catch((err: unknown) =>
          this.deps.logger.warn('operation engine: a bank run could not be logged error at stop', { run: id, error: reasonOf(err) }),
        );
    }
  }
}
