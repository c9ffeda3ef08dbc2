/**
 * The ProtectionService port: what the protection service offers its adapters (REST routes, the RPC
 * server, the CLI), with its own input and output types. Implementations (the in-process
 * ProtectionManager, the RPC and HTTP clients) import them from here.
 */
import type { CheckReport } from '../bank/chunks/check.js';
import type { GcReport as ChunkGcReport } from '../bank/chunks/gc.js';
import type { CheckpointQuery } from '../checkpoints/collection.js';
import type { CheckpointRecord } from '../checkpoints/model.js';
import type { Resource } from '../core/resource.js';
import type { ExtendedInfoSchema } from '../providers/registry.js';
import type { ListOperationsQuery, ListPlansQuery } from '../store/port.js';
import type { PlanRecord, RestoreRecord, VerificationRecord } from '../store/records.js';
import type { OperationLogRecord } from '../store/scheduling-records.js';
import type { ScheduleMark } from './engine.js';
import type { RequestContext } from './request.js';

/** A provider as callers see it (Karbor's shape). */
export interface ProviderView {
  id: string;
  name: string;
  description: string;
  extended_info_schema: ExtendedInfoSchema;
}

/** Karbor's protectable instance: a resource with its dependent resources. */
export interface ProtectableInstance extends Resource {
  dependent_resources: Resource[];
}

export interface PlanInput {
  name: string;
  description?: string;
  provider_id: string;
  resources: Array<{ type: string; id: string; name?: string; extra_info?: Record<string, unknown>; node?: string; consistency?: unknown }>;
  parameters?: Record<string, unknown>;
}

export type PlanUpdate = Partial<Pick<PlanInput, 'name' | 'description' | 'resources' | 'parameters'>> & {
  status?: 'suspended' | 'started';
};

/**
 * `operation_id` (a UUID chosen by the caller) makes a start idempotent: a repeat returns the first.
 * `provider_id`, when given, must be the plan's (Karbor addresses checkpoints under their provider).
 */
export interface ProtectInput {
  plan_id: string;
  provider_id?: string;
  operation_id?: string;
  /** Set by the operation engine only (never taken from a REST body): the fire this protect is. */
  schedule?: ScheduleMark;
}
export interface RestoreInput {
  checkpoint_id: string;
  provider_id?: string;
  parameters?: Record<string, unknown>;
  restore_target?: string | null;
  operation_id?: string;
}
export interface VerifyInput {
  checkpoint_id: string;
  provider_id?: string;
  parameters?: Record<string, unknown>;
  operation_id?: string;
}

/** An operation as `operation show` sees it: its record, and whether its engine still runs it. */
export interface OperationView {
  id: string;
  kind: 'protect' | 'restore' | 'verify';
  status: string;
  /** null when the engine cannot tell (a local operation of another process). */
  running: boolean | null;
  record: CheckpointRecord | RestoreRecord | VerificationRecord;
}

/**
 * Karbor's operation log, stored in the catalog (one row per run, manual or scheduled): its status is
 * what the operation did — `success` only once a checkpoint is available or a restore succeeded
 * (Karbor logged "success" when the API accepted a request).
 */
export type OperationLog = OperationLogRecord;

/** What `bank check` found (bank/chunks/check.ts): `ok: false` is a finding, not an error. */
export type BankCheckReport = CheckReport;
/** What `bank gc` did (bank/chunks/gc.ts). */
export type GcReport = ChunkGcReport;

/** `provider_id` absent: the built-in fs-directory provider, whose bank the built-in providers share. */
export interface BankCheckInput {
  provider_id?: string;
  /** Read, decrypt and hash every chunk (or `read_data_percent` of the packs) besides checking structure. */
  read_data?: boolean;
  /** With read_data: the share of packs read, in (0, 100] (a random sample each run). */
  read_data_percent?: number;
}
export interface BankGcInput {
  provider_id?: string;
  /** How far the clocks of the hosts writing to the bank may differ (default 60). */
  clock_skew_seconds?: number;
}

/**
 * `checkpoint copy`: checkpoint_id (looked up in provider_id's bank, or in every bank) into the bank of
 * to_provider_id (an id or a name), which must be another bank.
 */
export interface CopyInput {
  checkpoint_id: string;
  provider_id?: string;
  to_provider_id: string;
  /** Set by the operation engine only (never taken from a REST body): the fire this copy is. */
  schedule?: ScheduleMark;
}

/** The states os-resetState may set. */
export type ResettableState = 'available' | 'error';

export interface LogQuery {
  limit?: number;
  marker?: string;
  sort?: 'asc' | 'desc';
}

/**
 * Every argument and result is plain JSON, so the same interface is served in-process, over RabbitMQ
 * and over HTTP. `start*` methods return once the operation's record exists; they do not wait for the
 * operation. Every method's name over RPC is in service-methods.ts.
 */
export interface ProtectionService {
  /** Every provider, sorted by name. */
  listProviders(ctx: RequestContext): Promise<ProviderView[]>;
  /** One provider by UUID (or name); BWK_ERR_PROVIDER_NOT_FOUND otherwise. */
  showProvider(ctx: RequestContext, id: string): Promise<ProviderView>;
  /** Protectable resource types. */
  protectableTypes(ctx: RequestContext): Promise<string[]>;
  /** A type and the types that depend on it. */
  showProtectableType(ctx: RequestContext, type: string): Promise<{ name: string; dependent_types: string[] }>;
  /** Resources of a type, with their dependents; `parameters` are validated against the protectable's schema. */
  listProtectableInstances(ctx: RequestContext, type: string, parameters: unknown): Promise<ProtectableInstance[]>;
  /** One resource of a type; BWK_ERR_RESOURCE_NOT_FOUND when it does not exist. */
  showProtectableInstance(ctx: RequestContext, type: string, id: string): Promise<ProtectableInstance>;

  /** Validates and stores a plan; nothing is stored when any part is invalid. */
  createPlan(ctx: RequestContext, input: PlanInput): Promise<PlanRecord>;
  /** The caller's plans, newest first unless `sort` says otherwise. */
  listPlans(ctx: RequestContext, q?: Omit<ListPlansQuery, 'projectId'>): Promise<PlanRecord[]>;
  /** One plan; BWK_ERR_PLAN_NOT_FOUND unless it is the caller's. */
  showPlan(ctx: RequestContext, id: string): Promise<PlanRecord>;
  /** Validates the changed plan in full before storing it. */
  updatePlan(ctx: RequestContext, id: string, patch: PlanUpdate): Promise<PlanRecord>;
  /** Deletes a plan (its checkpoints stay). */
  deletePlan(ctx: RequestContext, id: string): Promise<void>;

  /** Starts protecting a plan; returns the new checkpoint (`protecting`). */
  startProtect(ctx: RequestContext, input: ProtectInput): Promise<CheckpointRecord>;
  /** Checkpoints across the providers' banks, newest first; marker/limit page them. */
  listCheckpoints(ctx: RequestContext, q: Omit<CheckpointQuery, 'projectId'>): Promise<CheckpointRecord[]>;
  /** One checkpoint, looked up in `providerId`'s bank or in every bank. */
  showCheckpoint(ctx: RequestContext, id: string, providerId?: string): Promise<CheckpointRecord>;
  /** Deletes a checkpoint and its data; BWK_ERR_CHECKPOINT_IN_USE (409) while a restore reads it. */
  deleteCheckpoint(ctx: RequestContext, id: string, providerId?: string): Promise<void>;
  /**
   * Sets a stuck checkpoint's status to `available` or `error` whatever it was (Karbor's
   * os-resetState), admins only (BWK_ERR_FORBIDDEN). BWK_ERR_CHECKPOINT_IN_USE (409) while an
   * operation holds a lease on the checkpoint. Returns the record as it now is.
   */
  resetCheckpointState(ctx: RequestContext, id: string, state: ResettableState, providerId?: string): Promise<CheckpointRecord>;
  /**
   * Copies an available checkpoint into another provider's bank and returns the copy (`available`)
   * when done; a copy cut short is resumed by asking again. Hours for a large checkpoint.
   */
  copyCheckpoint(ctx: RequestContext, input: CopyInput): Promise<CheckpointRecord>;

  /** Starts a restore; returns its record (`in_progress`). */
  startRestore(ctx: RequestContext, input: RestoreInput): Promise<RestoreRecord>;
  /** The caller's restores, newest first. */
  listRestores(ctx: RequestContext, q?: Omit<ListOperationsQuery, 'projectId'>): Promise<RestoreRecord[]>;
  /** One restore; BWK_ERR_RESTORE_NOT_FOUND unless it is the caller's. */
  showRestore(ctx: RequestContext, id: string): Promise<RestoreRecord>;

  /** Starts a verification; returns its record (`in_progress`). */
  startVerify(ctx: RequestContext, input: VerifyInput): Promise<VerificationRecord>;
  /** The caller's verifications, newest first. */
  listVerifications(ctx: RequestContext, q?: Omit<ListOperationsQuery, 'projectId'>): Promise<VerificationRecord[]>;
  /** One verification; BWK_ERR_VERIFICATION_NOT_FOUND unless it is the caller's. */
  showVerification(ctx: RequestContext, id: string): Promise<VerificationRecord>;

  /** An operation (checkpoint, restore or verification id) and whether it still runs. */
  showOperation(ctx: RequestContext, id: string): Promise<OperationView>;
  /** Karbor's operation logs (derived from the records: a status is what the operation did). */
  listOperationLogs(ctx: RequestContext, q?: LogQuery): Promise<OperationLog[]>;
  /** Cancels a running operation of the caller's project. */
  cancelOperation(ctx: RequestContext, id: string): Promise<void>;

  /**
   * Checks a provider's bank and returns when done (hours, with read_data, on a large bank). Admins
   * only (BWK_ERR_FORBIDDEN): it reads every project's data.
   */
  checkBank(ctx: RequestContext, input: BankCheckInput): Promise<BankCheckReport>;
  /** Deletes the chunks no checkpoint references and returns when done. Admins only (BWK_ERR_FORBIDDEN). */
  gcBank(ctx: RequestContext, input: BankGcInput): Promise<GcReport>;
}
