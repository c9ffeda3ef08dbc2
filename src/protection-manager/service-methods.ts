/**
 * The ProtectionService's methods as they travel over RPC — Karbor's RPC vocabulary — written once:
 * the RPC server and client are derived from this table, and `satisfies` makes the build fail when a
 * method of the port has no entry.
 */
import type { ProtectionService } from './service.js';

export type OperationStartKind = 'protect' | 'restore' | 'verify';

export interface MethodSpec {
  /** The RPC method name. Starts share Karbor's `execute_operation`, told apart by `operation`. */
  readonly rpc: string;
  /** Set on the methods that start an operation: the first argument carries an idempotency key. */
  readonly operation?: OperationStartKind;
  /** Arguments that JSON cannot carry as they are (Dates travel as ISO strings). */
  readonly revive?: (args: unknown[]) => unknown[];
  /**
   * Set on the methods that return only when their work is done, which may take hours (bank upkeep):
   * the client waits rpc.long_timeout_ms instead of rpc.timeout_ms, and the request is delivered at most
   * once (the server acknowledges it on receipt: never redelivered, never run twice). See protection-rpc.ts.
   */
  readonly long?: true;
}

/** Dates travel as ISO strings; the checkpoint query wants them back as Dates. */
function reviveCheckpointQuery(args: unknown[]): unknown[] {
  const [q, ...rest] = args;
  if (!q || typeof q !== 'object') return args;
  const out = { ...(q as Record<string, unknown>) };
  for (const k of ['since', 'until']) if (typeof out[k] === 'string') out[k] = new Date(out[k] as string);
  return [out, ...rest];
}

export const SERVICE_METHODS = {
  listProviders: { rpc: 'list_providers' },
  showProvider: { rpc: 'show_provider' },
  protectableTypes: { rpc: 'list_protectable_types' },
  showProtectableType: { rpc: 'show_protectable_type' },
  listProtectableInstances: { rpc: 'list_protectable_instances' },
  showProtectableInstance: { rpc: 'show_protectable_instance' },
  createPlan: { rpc: 'create_plan' },
  listPlans: { rpc: 'list_plans' },
  showPlan: { rpc: 'show_plan' },
  updatePlan: { rpc: 'update_plan' },
  deletePlan: { rpc: 'delete_plan' },
  startProtect: { rpc: 'execute_operation', operation: 'protect' },
  listCheckpoints: { rpc: 'list_checkpoints', revive: reviveCheckpointQuery },
  showCheckpoint: { rpc: 'show_checkpoint' },
  deleteCheckpoint: { rpc: 'delete_checkpoint' },
  resetCheckpointState: { rpc: 'reset_state' },
  copyCheckpoint: { rpc: 'copy_checkpoint', long: true },
  startRestore: { rpc: 'execute_operation', operation: 'restore' },
  listRestores: { rpc: 'list_restores' },
  showRestore: { rpc: 'show_restore' },
  startVerify: { rpc: 'execute_operation', operation: 'verify' },
  listVerifications: { rpc: 'list_verifications' },
  showVerification: { rpc: 'show_verification' },
  showOperation: { rpc: 'show_operation' },
  listOperationLogs: { rpc: 'list_operation_logs' },
  cancelOperation: { rpc: 'cancel_operation' },
  checkBank: { rpc: 'check_bank', long: true },
  gcBank: { rpc: 'gc_bank', long: true },
} as const satisfies Record<keyof ProtectionService, MethodSpec>;

export type ServiceMethod = keyof typeof SERVICE_METHODS;

export const SERVICE_METHOD_NAMES = Object.keys(SERVICE_METHODS) as ServiceMethod[];
