/**
 * What a run of each scheduled operation type does, through the ProtectionService port only: start
 * its operation (with the fire's id as operation_id, so a second start of one fire finds the first),
 * read how it ended, and, for retention_protect, delete what the retention rules say once the new
 * checkpoint is available.
 */
import { checkFindings } from '../bank/chunks/check-findings.js';
import { bwkError, isBulwarkError } from '../core/errors.js';
import type { RequestContext } from '../protection-manager/request.js';
import type { ProtectionService } from '../protection-manager/service.js';
import type { OperationLogRow, ScheduledOperationRecord, TriggerRecord } from '../store/scheduling-records.js';
import { retentionPolicyOf } from './operation-types.js';
import { decideRetention, type RetentionCheckpoint } from './retention.js';

/**
 * The engine acts for the scheduled operation's project: with an admin's reach in it, or, for an
 * operation a member made, within the project's resource scope as it is at each fire.
 */
export const projectContext = (projectId: string, actsAs: 'admin' | 'member' = 'admin'): RequestContext =>
  actsAs === 'member' ? { projectId, admin: false, scoped: true } : { projectId, admin: true, allProjects: false };

/** Starts the run's operation; returns the fields the log gains (the verified checkpoint). */
export async function startRun(
  service: ProtectionService,
  row: OperationLogRow,
  op: ScheduledOperationRecord | null,
): Promise<Partial<OperationLogRow>> {
  const ctx = projectContext(row.project_id, op?.acts_as);
  switch (row.operation_type) {
    case 'protect':
    case 'retention_protect': {
      await service.startProtect(ctx, {
        plan_id: row.plan_id!,
        operation_id: row.id,
        ...(op ? { schedule: { scheduled_operation_id: op.id, trigger_id: op.trigger_id, due_at: row.due_at! } } : {}),
      });
      return { checkpoint_id: row.id };
    }
    case 'verify': {
      let checkpointId = row.checkpoint_id;
      if (checkpointId === null) {
        const [newest] = await service.listCheckpoints(ctx, { planId: row.plan_id!, status: 'available', limit: 1 });
        if (!newest) throw bwkError('BWK_ERR_CHECKPOINT_NOT_FOUND', { id: `(no available checkpoint of plan ${row.plan_id})` });
        checkpointId = newest.id;
      }
      await service.startVerify(ctx, { checkpoint_id: checkpointId, operation_id: row.id });
      return { checkpoint_id: checkpointId, verification_id: row.id };
    }
    default:
      throw bwkError('BWK_ERR_INTERNAL', { reason: `no run for operation type ${row.operation_type}` });
  }
}

/** Bank upkeep is one service call that returns when the work is done, not an operation the engine polls. */
export const isBankUpkeep = (type: string): boolean => type === 'bank_check' || type === 'bank_gc';
/** The types run as one service call that returns when done: bank upkeep, and copy. */
export const runsInOneCall = (type: string): boolean => isBankUpkeep(type) || type === 'copy';

type OneCallOutcome = { ok: boolean; error_info: string | null; extra_info: Record<string, unknown> };

/**
 * A copy run: the checkpoint its event named, or the plan's newest available one outside the target
 * bank, copied into to_provider_id's bank and marked with the fire (the copy carries the scheduled
 * operation's id, which is what its retention judges). Retention then runs over those copies.
 */
async function runCopy(
  service: ProtectionService,
  row: OperationLogRow,
  op: ScheduledOperationRecord | null,
  trigger: TriggerRecord | null,
  now: number,
): Promise<OneCallOutcome> {
  const ctx = projectContext(row.project_id, op?.acts_as);
  const definition = op?.operation_definition ?? {};
  const to = (await service.showProvider(ctx, String(definition.to_provider_id))).id;
  let checkpointId = row.checkpoint_id;
  if (checkpointId === null) {
    const newest = (await service.listCheckpoints(ctx, { planId: row.plan_id!, status: 'available', limit: 20 })).find(
      (c) => c.provider_id !== to,
    );
    if (!newest) throw bwkError('BWK_ERR_CHECKPOINT_NOT_FOUND', { id: `(no available checkpoint of plan ${row.plan_id} to copy)` });
    checkpointId = newest.id;
  }
  const schedule = op ? { scheduled_operation_id: op.id, trigger_id: op.trigger_id, due_at: row.due_at! } : undefined;
  const copy = await service.copyCheckpoint(ctx, { checkpoint_id: checkpointId, to_provider_id: to, ...(schedule ? { schedule } : {}) });
  const extra: Record<string, unknown> = {
    copy: { source_checkpoint_id: checkpointId, checkpoint_id: copy.id, provider_id: to, stats: copy.extra_info.copy_stats },
  };
  if (op && Object.keys(retentionPolicyOf(op.operation_definition)).length > 0) {
    // The copy is done whatever retention meets: a failure is reported, and retried at the next fire.
    Object.assign(
      extra,
      await applyRetention(service, op, trigger, now, to).catch((err: unknown) => ({
        retention: { deleted: [], failed: [{ reason: (err as Error).message }] },
      })),
    );
  }
  return { ok: true, error_info: null, extra_info: extra };
}

/** Runs a one-call type (runsInOneCall) to its end and returns what its log row says; a failed call throws. */
export async function runOneCall(
  service: ProtectionService,
  row: OperationLogRow,
  op: ScheduledOperationRecord | null,
  trigger: TriggerRecord | null,
  now: number,
): Promise<OneCallOutcome> {
  return row.operation_type === 'copy' ? runCopy(service, row, op, trigger, now) : runBankUpkeep(service, row, op);
}

/** How many entries of each list of a report the log keeps (the counts stay whole; the CLI shows all of it). */
const LISTED = 20;
const compact = (report: object): Record<string, unknown> =>
  Object.fromEntries(Object.entries(report).map(([k, v]) => [k, Array.isArray(v) ? v.slice(0, LISTED) : v]));

/**
 * Runs a bank_check or bank_gc to its end and returns what its log row says: success with the report in
 * extra_info, or error with what the check found. read_data_percent 0 (or none) checks the structure
 * only; above 0 it also reads that share of the packs. A failed call throws.
 */
export async function runBankUpkeep(
  service: ProtectionService,
  row: OperationLogRow,
  op: ScheduledOperationRecord | null,
): Promise<{ ok: boolean; error_info: string | null; extra_info: Record<string, unknown> }> {
  const ctx = projectContext(row.project_id);
  const provider_id = row.provider_id ?? op?.provider_id ?? undefined;
  if (row.operation_type === 'bank_gc') {
    const report = await service.gcBank(ctx, { ...(provider_id ? { provider_id } : {}) });
    return { ok: true, error_info: null, extra_info: { bank_gc: report } };
  }
  const percent = Number(op?.operation_definition.read_data_percent ?? 0);
  const report = await service.checkBank(ctx, {
    ...(provider_id ? { provider_id } : {}),
    ...(percent > 0 ? { read_data: true, read_data_percent: percent } : {}),
  });
  return {
    ok: report.ok,
    error_info: report.ok ? null : `bank check found problems: ${checkFindings(report)}`,
    extra_info: { bank_check: compact(report) },
  };
}

export type RunOutcome = { done: false } | { done: true; ok: boolean; status: string; reason?: string };

/** How the run's operation is doing, by its record's status. */
export async function outcomeOf(service: ProtectionService, row: OperationLogRow): Promise<RunOutcome> {
  const view = await service.showOperation(projectContext(row.project_id), row.id);
  const status = view.status;
  if (status === 'available' || status === 'success') return { done: true, ok: true, status };
  if (status === 'error' || status === 'fail' || status === 'deleted') {
    const record = view.record as { extra_info?: { reason?: string }; resources_reason?: Record<string, string> };
    const reason = record.extra_info?.reason ?? Object.values(record.resources_reason ?? {}).join('; ');
    return { done: true, ok: false, status, reason: reason || `it ended ${status}` };
  }
  return { done: false };
}

/**
 * Retention after a retention_protect's checkpoint is available: judges the plan's checkpoints this
 * scheduled operation made, deletes what the rules say, and reports each deletion with its rule.
 * A checkpoint a restore or verification holds is skipped (tried again next time), not failed.
 */
export async function applyRetention(
  service: ProtectionService,
  op: ScheduledOperationRecord,
  trigger: TriggerRecord | null,
  now: number,
  /** Where the judged checkpoints are (a copy's target provider); default the operation's provider. */
  providerId: string | undefined = op.provider_id ?? undefined,
): Promise<Record<string, unknown>> {
  const ctx = projectContext(op.project_id, op.acts_as);
  const checkpoints: RetentionCheckpoint[] = [];
  for (let marker: string | undefined; ;) {
    const page = await service.listCheckpoints(ctx, {
      planId: op.plan_id!,
      ...(providerId ? { providerId } : {}),
      limit: 1000,
      ...(marker ? { marker } : {}),
    });
    if (page.length === 0) break;
    for (const c of page)
      checkpoints.push({
        id: c.id,
        status: c.status,
        created_at: c.created_at,
        scheduled_operation_id: (c.extra_info.scheduled_operation_id as string | undefined) ?? null,
      });
    marker = page.at(-1)!.id;
  }
  const zone = typeof trigger?.properties.timezone === 'string' ? trigger.properties.timezone : 'UTC';
  const decision = decideRetention(checkpoints, op.id, retentionPolicyOf(op.operation_definition), now, zone);
  const deleted: Array<{ id: string; rule: string }> = [];
  const held: string[] = [...decision.held];
  const failed: Array<{ id: string; reason: string }> = [];
  for (const d of decision.delete) {
    try {
      await service.deleteCheckpoint(ctx, d.id, providerId);
      deleted.push(d);
    } catch (err) {
      if (isBulwarkError(err, 'BWK_ERR_CHECKPOINT_IN_USE')) held.push(d.id);
      else if (isBulwarkError(err, 'BWK_ERR_CHECKPOINT_NOT_FOUND'))
        continue; // another instance got there first
      else failed.push({ id: d.id, reason: (err as Error).message });
    }
  }
  return {
    retention: {
      deleted,
      ...(held.length ? { held } : {}),
      ...(failed.length ? { failed } : {}),
      ...(decision.reason ? { reason: decision.reason } : {}),
    },
  };
}
