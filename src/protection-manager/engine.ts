import type { ErrorJSON } from '../core/errors.js';
import type { RequestOrigin } from './request.js';

interface RequestBase {
  operationId: string;
  projectId: string;
  providerId: string;
  checkpointId: string;
}

/** Protect a plan into the new checkpoint `checkpointId`. */
export interface ProtectRequest extends RequestBase {
  kind: 'protect';
  planId: string;
  /** Who asked (REST API requests only): kept in the checkpoint's extra_info. Absent in earlier builds' requests. */
  origin?: RequestOrigin;
  /** Which scheduled operation's fire this is: kept in the checkpoint's extra_info (retention judges by it). */
  schedule?: ScheduleMark;
}

/** The mark a scheduled protect leaves on its checkpoint. */
export interface ScheduleMark {
  scheduled_operation_id: string;
  trigger_id: string;
  due_at: string;
}
/** Restore a checkpoint as the restore record `recordId` asks. */
export interface RestoreRequest extends RequestBase {
  kind: 'restore';
  recordId: string;
  /**
   * Where this restore may write when narrower than the process's restore policy: a member's restore,
   * limited to its project's resource scope. Absent in earlier builds' requests (the policy applies).
   */
  allowedTargetPaths?: string[];
}
/** Verify a checkpoint for the verification record `recordId`. */
export interface VerifyRequest extends RequestBase {
  kind: 'verify';
  recordId: string;
}
/** Delete a checkpoint and its data. */
export interface DeleteRequest extends RequestBase {
  kind: 'delete';
}

/**
 * Everything an engine needs to run one operation; small and serializable so it can be a Temporal
 * workflow argument and a lease's data. Records it refers to were created (or validated) by the
 * ProtectionManager. Field names are stable: leases and workflow histories of earlier builds hold them.
 */
export type OperationRequest = ProtectRequest | RestoreRequest | VerifyRequest | DeleteRequest;

export type OperationKind = OperationRequest['kind'];

export interface OperationOutcome {
  operationId: string;
  kind: OperationKind;
  /** Final status of the record: checkpoint `available|error|deleted`, restore/verification `success|fail`. */
  status: string;
  error?: ErrorJSON;
}

/**
 * The Engine port: runs operations (start → hook tasks in flow-graph order → finish, or fail).
 * `local` runs them in this process; `temporal` as durable workflows. Both must pass
 * test/contracts/engine.contract.ts.
 */
export interface Engine {
  readonly name: string;
  /** Runs an operation to its end and reports how it ended; failures of the operation are outcomes, not throws. */
  execute(request: OperationRequest): Promise<OperationOutcome>;
  /** Starts an operation without waiting for it; starting an id twice runs it once. */
  start(request: OperationRequest): Promise<void>;
  /** Waits for a started operation to end (for the local engine: one started by this process). */
  wait(operationId: string): Promise<OperationOutcome>;
  /** Whether operations outlive the process that started them (temporal: yes; local: no). */
  readonly durable: boolean;
  /** Asks a running operation to stop; it ends with reason `cancelled`. Unknown ids are ignored. */
  cancel(operationId: string): Promise<void>;
  /**
   * Whether the engine still runs an operation (durable engines only: recovery asks before failing an
   * operation whose lease expired).
   */
  isRunning?(operationId: string): Promise<boolean>;
  /** Stops accepting work and waits for running operations (bounded by the engine's own timeouts). */
  close(): Promise<void>;
}
