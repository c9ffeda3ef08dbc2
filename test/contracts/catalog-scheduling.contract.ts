/**
 * Catalog contract cases of the operation engine's tables (issue 16): triggers and scheduled
 * operations stored exactly and per project, and the claim rows that make a fire run once — their
 * unique keys and compare-and-set phase changes must hold on every adapter.
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import type { OperationLogRow, ScheduledOperationRecord, TriggerRecord } from '../../src/store/scheduling-records.js';
import type { CatalogHarness } from './catalog.contract.js';

const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();

function trigger(project: string, over: Partial<TriggerRecord> = {}): TriggerRecord {
  return {
    id: randomUUID(),
    project_id: project,
    name: 'nightly',
    type: 'time',
    properties: { format: 'crontab', pattern: '0 3 * * *', timezone: 'Europe/Berlin', window: 600 },
    created_at: at(0),
    updated_at: at(0),
    ...over,
  };
}

function scheduled(t: TriggerRecord, over: Partial<ScheduledOperationRecord> = {}): ScheduledOperationRecord {
  return {
    id: randomUUID(),
    project_id: t.project_id,
    name: 'protect nightly',
    description: '',
    operation_type: 'protect',
    trigger_id: t.id,
    plan_id: randomUUID(),
    provider_id: 'p',
    operation_definition: { plan_id: 'x', max_backups: 3 },
    status: 'enabled',
    overlap: 'skip',
    acts_as: 'member',
    next_due_at: at(10),
    created_at: at(1),
    updated_at: at(1),
    ...over,
  };
}

function logRow(op: ScheduledOperationRecord | null, over: Partial<OperationLogRow> = {}): OperationLogRow {
  return {
    id: randomUUID(),
    project_id: op?.project_id ?? 'proj-a',
    scheduled_operation_id: op?.id ?? null,
    trigger_id: op?.trigger_id ?? null,
    fire_key: op ? `due:${at(10)}` : null,
    operation_type: 'protect',
    plan_id: op?.plan_id ?? null,
    provider_id: 'p',
    checkpoint_id: null,
    restore_id: null,
    verification_id: null,
    due_at: op ? at(10) : null,
    status: 'running',
    phase: 'claimed',
    error_info: null,
    started_at: null,
    ended_at: null,
    extra_info: {},
    token_id: null,
    client_address: null,
    created_at: at(10),
    updated_at: at(10),
    ...over,
  };
}

export function schedulingCases(harness: () => CatalogHarness): void {
  describe('scheduling tables (issue 16)', () => {
    it('stores triggers and scheduled operations exactly, per project, and lists them with filters', async () => {
      const s = harness().store.scheduling;
      const t = await s.createTrigger(trigger('proj-a'));
      const e = await s.createTrigger(
        trigger('proj-a', { type: 'event', name: 'on protect', properties: { event: 'checkpoint.available' } }),
      );
      expect(await s.getTrigger('proj-a', t.id)).to.deep.equal(t);
      expect(await s.getTrigger('proj-b', t.id)).to.equal(null);
      expect((await s.listTriggers({ projectId: 'proj-a', type: 'event' })).map((x) => x.id)).to.deep.equal([e.id]);
      const o = await s.createScheduledOperation(scheduled(t));
      expect(await s.getScheduledOperation('proj-a', o.id)).to.deep.equal(o);
      expect(await s.getScheduledOperation('proj-b', o.id)).to.equal(null);
      expect(await s.scheduledOperationsUsing({ triggerId: t.id })).to.deep.equal([o.id]);
      expect(await s.scheduledOperationsUsing({ planId: o.plan_id! })).to.deep.equal([o.id]);
      const renamed = await s.updateTrigger('proj-a', t.id, { name: 'renamed' });
      expect(renamed!.name).to.equal('renamed');
      expect(await s.updateTrigger('proj-b', t.id, { name: 'theirs' })).to.equal(null);
      expect(await s.deleteTrigger('proj-b', t.id)).to.equal(false);
      expect(await s.countTriggers('proj-a')).to.equal(2);
      try {
        await s.listTriggers({ projectId: 'proj-b', marker: t.id });
        expect.fail('a marker of another project must be refused');
      } catch (err) {
        expect((err as { code?: string }).code).to.equal('BWK_ERR_INVALID_INPUT');
      }
    });

    it('finds what is due: enabled, cursor at or before now; event operations by their trigger', async () => {
      const s = harness().store.scheduling;
      const t = await s.createTrigger(trigger('proj-a'));
      const e = await s.createTrigger(trigger('proj-a', { type: 'event', properties: { event: 'checkpoint.available' } }));
      const due = await s.createScheduledOperation(scheduled(t, { next_due_at: at(5) }));
      await s.createScheduledOperation(scheduled(t, { next_due_at: at(50) }));
      await s.createScheduledOperation(scheduled(t, { next_due_at: at(5), status: 'suspended' }));
      const onEvent = await s.createScheduledOperation(scheduled(e, { operation_type: 'verify', next_due_at: null }));
      expect((await s.dueScheduledOperations(at(10), 100)).map((o) => o.id)).to.deep.equal([due.id]);
      const events = await s.eventScheduledOperations();
      expect(events.map((o) => [o.id, o.trigger.id])).to.deep.equal([[onEvent.id, e.id]]);
    });

    it('lets exactly one of several concurrent claims of one fire have it', async () => {
      const s = harness().store.scheduling;
      const op = await s.createScheduledOperation(scheduled(await s.createTrigger(trigger('proj-a'))));
      // Different ids, same (scheduled operation, fire key): as two instances computing the row would not — the key still holds.
      const results = await Promise.all([1, 2, 3, 4].map(() => s.insertLog(logRow(op))));
      expect(results.filter(Boolean)).to.have.length(1);
      const same = logRow(op, { fire_key: `due:${at(20)}` });
      expect(await Promise.all([s.insertLog(same), s.insertLog({ ...same })])).to.have.members([true, false]);
      // Manual rows (no scheduled operation) never collide with each other.
      expect(await s.insertLog(logRow(null))).to.equal(true);
      expect(await s.insertLog(logRow(null))).to.equal(true);
    });

    it('moves a run on by compare-and-set: one winner, and a stale guard', async () => {
      const s = harness().store.scheduling;
      const op = await s.createScheduledOperation(scheduled(await s.createTrigger(trigger('proj-a'))));
      const row = logRow(op);
      await s.insertLog(row);
      const wins = await Promise.all([1, 2, 3].map(() => s.advanceRun(row.id, 'claimed', { phase: 'starting' })));
      expect(wins.filter(Boolean)).to.have.length(1);
      const now = (await s.getLogRow(row.id))!;
      expect(now.phase).to.equal('starting');
      expect(await s.advanceRun(row.id, 'starting', { phase: 'starting' }, at(0))).to.equal(false); // updated after at(0)
      expect(await s.advanceRun(row.id, 'starting', { phase: 'started' }, now.updated_at)).to.equal(true);
      expect(await s.planBusy(op.plan_id!, ['protect'])).to.equal(true);
      expect(await s.planBusy(op.plan_id!, ['verify'])).to.equal(false);
      expect(await s.planBusy(op.plan_id!, ['protect'], row.id)).to.equal(false);
      expect((await s.activeRuns(10)).map((r) => r.id)).to.include(row.id);
      await s.updateLog(row.id, { phase: 'done', status: 'success', ended_at: at(30) });
      expect((await s.activeRuns(10)).map((r) => r.id)).to.not.include(row.id);
      const log = await s.getLog('proj-a', row.id);
      expect(log).to.include({ status: 'success', ended_at: at(30) });
      expect(log).to.not.have.property('phase');
      expect(await s.getLog('proj-b', row.id)).to.equal(null);
    });

    it('filters and pages logs, and prunes only finished old ones', async () => {
      const s = harness().store.scheduling;
      const op = await s.createScheduledOperation(scheduled(await s.createTrigger(trigger('proj-a'))));
      const rows = [0, 1, 2, 3].map((i) =>
        logRow(op, { fire_key: `due:${at(i)}`, created_at: at(i), status: i % 2 ? 'error' : 'success', phase: 'done' }),
      );
      const running = logRow(op, { fire_key: 'due:later', created_at: at(0) });
      for (const r of [...rows, running]) await s.insertLog(r);
      expect((await s.listLogs({ projectId: 'proj-a', status: 'error', sort: 'asc' })).map((l) => l.id)).to.deep.equal([
        rows[1]!.id,
        rows[3]!.id,
      ]);
      expect((await s.listLogs({ projectId: 'proj-a', since: at(1), until: at(3), sort: 'asc' })).map((l) => l.id)).to.deep.equal([
        rows[1]!.id,
        rows[2]!.id,
      ]);
      const first = await s.listLogs({ projectId: 'proj-a', scheduledOperationId: op.id, limit: 2, sort: 'asc' });
      const next = await s.listLogs({ projectId: 'proj-a', scheduledOperationId: op.id, limit: 10, sort: 'asc', marker: first.at(-1)!.id });
      expect(first.length + next.length).to.equal(5);
      expect(await s.listLogs({ projectId: 'proj-b' })).to.deep.equal([]);
      expect(await s.pruneLogs(at(2))).to.equal(2); // rows 0 and 1; the running one stays
      expect((await s.getLogRow(running.id))!.phase).to.equal('claimed');
    });
  });
}
