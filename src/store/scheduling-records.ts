/**
 * Records of the operation engine's catalog tables (migration 0005): triggers, scheduled operations
 * and operation logs. Field names are the REST and CLI shapes, Karbor's where Karbor had the field.
 */

export type TriggerType = 'time' | 'event';

export interface TriggerRecord {
  id: string;
  project_id: string;
  name: string;
  type: TriggerType;
  /** time: format, pattern, timezone, start_time, end_time, window; event: event. */
  properties: Record<string, unknown>;
  created_at: string;
  updated_at: string;
}

export type ScheduledOperationType = 'protect' | 'retention_protect' | 'verify' | 'copy' | 'bank_check' | 'bank_gc';
export type ScheduledOperationStatus = 'enabled' | 'suspended';
/** What a fire does while the previous run for the same plan is still going. */
export type OverlapPolicy = 'skip' | 'queue';

export interface ScheduledOperationRecord {
  id: string;
  project_id: string;
  name: string;
  description: string;
  operation_type: ScheduledOperationType;
  trigger_id: string;
  /** The plan it protects or verifies (from operation_definition); null for bank upkeep. */
  plan_id: string | null;
  provider_id: string | null;
  operation_definition: Record<string, unknown>;
  status: ScheduledOperationStatus;
  overlap: OverlapPolicy;
  /**
   * Whose reach its fires have: `member` when a member token made it (its project's resource scope
   * is judged anew at every fire, as at every protect a member starts), `admin` otherwise.
   */
  acts_as: 'admin' | 'member';
  /** The next due time a time trigger has not yet been looked at for (the engine's durable cursor). */
  next_due_at: string | null;
  created_at: string;
  updated_at: string;
}

export type OperationLogStatus = 'queued' | 'running' | 'success' | 'error' | 'dropped_out_of_window' | 'skipped_overlap';

/**
 * Where the engine is with a run: `queued` (waits for the plan's previous run), `claimed` (this fire
 * is ours, nothing started), `starting` (one instance is starting it), `started` (the protection
 * service runs it), `done`. Manual operations start at `started`.
 */
export type RunPhase = 'queued' | 'claimed' | 'starting' | 'started' | 'done';

export interface OperationLogRecord {
  /** The operation's id: a protect's checkpoint, a restore's or verification's id, or a fire's v5 UUID. */
  id: string;
  project_id: string;
  scheduled_operation_id: string | null;
  trigger_id: string | null;
  operation_type: string;
  plan_id: string | null;
  provider_id: string | null;
  checkpoint_id: string | null;
  restore_id: string | null;
  verification_id: string | null;
  /** The due time this run is for (scheduled runs). */
  due_at: string | null;
  status: OperationLogStatus;
  error_info: string | null;
  started_at: string | null;
  ended_at: string | null;
  /** Retention's deletions ({id, rule}), held checkpoints, and anything else the run reports. */
  extra_info: Record<string, unknown>;
  token_id: string | null;
  client_address: string | null;
  created_at: string;
  updated_at: string;
}

/** A log row with what only the engine reads: the claim key and its phase. */
export interface OperationLogRow extends OperationLogRecord {
  /** `due:<ISO time>`, `event:<checkpoint id>` or `run:<ISO time>`; null for manual operations. */
  fire_key: string | null;
  phase: RunPhase;
}

export const ACTIVE_PHASES: readonly RunPhase[] = ['queued', 'claimed', 'starting', 'started'];
