import type { PageSizes } from '../common/page-size.js';
import type { PageQuery } from './paging.js';
import type { SchedulingStore } from './scheduling-port.js';
import type { QuotaStore } from './quotas.js';
import type { ServiceStore } from './services.js';
import type { TokenStore } from './tokens.js';
import type { NotificationStore } from './notifications.js';
import type { OperationStatus, PlanRecord, RestoreRecord, VerificationRecord } from './records.js';

/**
 * The catalog store port: plans, restores and verifications. Adapters (SQLite now, PostgreSQL later)
 * share src/store/migrations.ts and must pass test/contracts/catalog.contract.ts.
 *
 * Tenancy: every method takes `projectId`; `null` means any project (admin). A record of another
 * project is invisible — null, false or absent from a list — never an error that reveals it exists.
 */

/** What every adapter takes when it is opened, besides where its database is. */
export interface CatalogOptions {
  /** Page sizes of every listing (`paging` in the config); DEFAULT_PAGE_SIZES when absent. */
  pageSizes?: PageSizes;
}

export type { ListPosition, PageQuery } from './paging.js';

export interface ListPlansQuery extends PageQuery {
  /** Only plans of this provider. */
  providerId?: string;
}

export interface ListOperationsQuery extends PageQuery {
  /** Only records in this status. */
  status?: OperationStatus;
  /** Only records of this checkpoint. */
  checkpointId?: string;
}

export type PlanPatch = Partial<Pick<PlanRecord, 'name' | 'description' | 'status' | 'resources' | 'parameters'>>;
export type RestorePatch = Partial<Pick<RestoreRecord, 'status' | 'resources_status' | 'resources_reason'>>;
export type VerificationPatch = Partial<Pick<VerificationRecord, 'status' | 'resources_status' | 'resources_reason'>>;

export interface CatalogStore {
  /** API tokens (stored hashed), in the same database. */
  readonly tokens: TokenStore;
  /** Triggers, scheduled operations and operation logs (the operation engine's tables). */
  readonly scheduling: SchedulingStore;
  /** Quota limits set through the API, per project and per quota class. */
  readonly quotas: QuotaStore;
  /** Every running Bulwark process, by host and binary, with its heartbeat and status. */
  readonly services: ServiceStore;
  /** Notification subscriptions and their webhook outbox. */
  readonly notifications: NotificationStore;

  /**
   * Stores a new plan exactly as given (the caller sets id and timestamps) and returns it as stored.
   * An id that already exists is BWK_ERR_INVALID_INPUT.
   */
  createPlan(plan: PlanRecord): Promise<PlanRecord>;

  /** The plan, or null when it does not exist or belongs to another project. */
  getPlan(projectId: string | null, id: string): Promise<PlanRecord | null>;

  /** One page of the plans visible to `q.projectId`, newest first unless `q.sort` says otherwise. */
  listPlans(q: ListPlansQuery): Promise<PlanRecord[]>;

  /** How many plans `projectId` has (the plans_per_project quota counts them). */
  countPlans(projectId: string): Promise<number>;

  /**
   * Applies the fields present in `patch`, sets updated_at to now and returns the updated plan; null
   * when the plan does not exist or belongs to another project (nothing is changed then). A field
   * outside PlanPatch (id, project_id...) is BWK_ERR_INVALID_INPUT, whatever the caller's types said.
   */
  updatePlan(projectId: string | null, id: string, patch: PlanPatch): Promise<PlanRecord | null>;

  /** Deletes the plan; false when it does not exist or belongs to another project. */
  deletePlan(projectId: string | null, id: string): Promise<boolean>;

  /** Stores a new restore exactly as given and returns it. An existing id is BWK_ERR_INVALID_INPUT. */
  createRestore(restore: RestoreRecord): Promise<RestoreRecord>;

  /** The restore, or null when it does not exist or belongs to another project. */
  getRestore(projectId: string | null, id: string): Promise<RestoreRecord | null>;

  /** One page of the restores visible to `q.projectId`, newest first unless `q.sort` says otherwise. */
  listRestores(q: ListOperationsQuery): Promise<RestoreRecord[]>;

  /**
   * Applies the fields present in `patch`, sets updated_at to now and returns the updated restore;
   * null when it does not exist or belongs to another project.
   */
  updateRestore(projectId: string | null, id: string, patch: RestorePatch): Promise<RestoreRecord | null>;

  /** Stores a new verification exactly as given and returns it. An existing id is BWK_ERR_INVALID_INPUT. */
  createVerification(verification: VerificationRecord): Promise<VerificationRecord>;

  /** The verification, or null when it does not exist or belongs to another project. */
  getVerification(projectId: string | null, id: string): Promise<VerificationRecord | null>;

  /** One page of the verifications visible to `q.projectId`, newest first unless `q.sort` says otherwise. */
  listVerifications(q: ListOperationsQuery): Promise<VerificationRecord[]>;

  /**
   * Applies the fields present in `patch`, sets updated_at to now and returns the updated
   * verification; null when it does not exist or belongs to another project.
   */
  updateVerification(projectId: string | null, id: string, patch: VerificationPatch): Promise<VerificationRecord | null>;

  /**
   * Every restore and verification still `in_progress`, in all projects, oldest first (read page by
   * page). Crash recovery calls it at start-up: with the local engine these were left behind by a
   * process that died.
   */
  listInProgress(): Promise<{ restores: RestoreRecord[]; verifications: VerificationRecord[] }>;

  /** Releases the connection(s). Calling it again is a no-op; no other method may be called after. */
  close(): Promise<void>;
}
