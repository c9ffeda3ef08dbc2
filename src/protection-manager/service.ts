import type { CheckpointQuery } from '../checkpoints/collection.js';
import type { CheckpointRecord } from '../checkpoints/model.js';
import type { ExtendedInfoSchema } from '../providers/registry.js';
import type { ListOperationsQuery, ListPlansQuery } from '../store/port.js';
import type { PlanRecord, RestoreRecord, VerificationRecord } from '../store/records.js';
import type { PlanInput, PlanUpdate } from './plans.js';
import type { ProtectableInstance } from './protectables.js';
import type { OperationView, RestoreInput, VerifyInput } from './protection-manager.js';
import type { RequestContext } from './request.js';
import type { OperationLog } from './operation-logs.js';

/** A provider as callers see it (Karbor's shape). */
export interface ProviderView {
  id: string;
  name: string;
  description: string;
  extended_info_schema: ExtendedInfoSchema;
}

/**
 * What the protection service offers its adapters (REST routes, RPC handlers, the CLI). Every
 * argument and result is plain JSON, so the same interface is served in-process and over RabbitMQ.
 * `start*` methods return once the operation's record exists; they do not wait for the operation.
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
  listPlans(ctx: RequestContext, q?: Omit<ListPlansQuery, 'projectId'>): Promise<PlanRecord[]>;
  showPlan(ctx: RequestContext, id: string): Promise<PlanRecord>;
  updatePlan(ctx: RequestContext, id: string, patch: PlanUpdate): Promise<PlanRecord>;
  deletePlan(ctx: RequestContext, id: string): Promise<void>;

  /** Starts protecting a plan; returns the new checkpoint (`protecting`). */
  startProtect(ctx: RequestContext, input: { plan_id: string; provider_id?: string; operation_id?: string }): Promise<CheckpointRecord>;
  listCheckpoints(ctx: RequestContext, q: Omit<CheckpointQuery, 'projectId'>): Promise<CheckpointRecord[]>;
  showCheckpoint(ctx: RequestContext, id: string, providerId?: string): Promise<CheckpointRecord>;
  /** Deletes a checkpoint and its data; BWK_ERR_CHECKPOINT_IN_USE (409) while a restore reads it. */
  deleteCheckpoint(ctx: RequestContext, id: string, providerId?: string): Promise<void>;

  /** Starts a restore; returns its record (`in_progress`). */
  startRestore(ctx: RequestContext, input: RestoreInput): Promise<RestoreRecord>;
  listRestores(ctx: RequestContext, q?: Omit<ListOperationsQuery, 'projectId'>): Promise<RestoreRecord[]>;
  showRestore(ctx: RequestContext, id: string): Promise<RestoreRecord>;

  /** Starts a verification; returns its record (`in_progress`). */
  startVerify(ctx: RequestContext, input: VerifyInput): Promise<VerificationRecord>;
  listVerifications(ctx: RequestContext, q?: Omit<ListOperationsQuery, 'projectId'>): Promise<VerificationRecord[]>;
  showVerification(ctx: RequestContext, id: string): Promise<VerificationRecord>;

  /** An operation (checkpoint, restore or verification id) and whether it still runs. */
  showOperation(ctx: RequestContext, id: string): Promise<OperationView>;
  /** Karbor's operation logs (derived from the records: a status is what the operation did). */
  listOperationLogs(ctx: RequestContext, q?: { limit?: number; marker?: string; sort?: 'asc' | 'desc' }): Promise<OperationLog[]>;
  /** Cancels a running operation of the caller's project. */
  cancelOperation(ctx: RequestContext, id: string): Promise<void>;
}
