/**
 * The CatalogStore implemented on any kysely dialect. Only portable SQL is used (no JSON operators,
 * no upserts; `returning` exists in SQLite and PostgreSQL), so the PostgreSQL adapter can reuse this
 * class and differ only in its connection setup and in `KyselyStoreOptions`.
 */
import { sql, type Kysely, type RawBuilder } from 'kysely';
import { bwkError } from '../core/errors.js';
import { nowIso } from '../common/ids.js';
import { DEFAULT_PAGE_SIZES, pageLimit, type PageSizes } from '../common/page-size.js';
import { afterPosition, checkSort, type OrderColumn } from './kysely-paging.js';
import { KyselySchedulingStore, type SchedulingDatabase } from './kysely-scheduling.js';
import type { SchedulingStore } from './scheduling-port.js';
import { KyselyQuotaStore, type QuotaDatabase, type QuotaStore } from './quotas.js';
import { KyselyServiceStore, type ServiceDatabase, type ServiceStore } from './services.js';
import { KyselyTokenStore } from './tokens.js';
import { KyselyNotificationStore, type NotificationDatabase, type NotificationStore } from './notifications.js';
import type { TokenDatabase, TokenStore } from './tokens.js';
import type {
  CatalogStore,
  ListOperationsQuery,
  ListPlansQuery,
  ListPosition,
  PageQuery,
  PlanPatch,
  RestorePatch,
  VerificationPatch,
} from './port.js';
import type { PlanRecord, RestoreRecord, VerificationRecord } from './records.js';

/** A record as stored: its JSON fields `J` become text columns. */
type Stored<R, J extends keyof R> = { [K in keyof R]: K extends J ? string : R[K] };

export type PlanRow = Stored<PlanRecord, 'resources' | 'parameters'>;
export type RestoreRow = Stored<RestoreRecord, 'parameters' | 'resources_status' | 'resources_reason'>;
export type VerificationRow = Stored<VerificationRecord, 'parameters' | 'resources_status' | 'resources_reason'>;

/** The catalog schema as src/store/migrations.ts leaves it. */
export interface Database {
  plans: PlanRow;
  restores: RestoreRow;
  verifications: VerificationRow;
}

type Table = keyof Database;

/** Equality filters a listing may add, by column. */
type Filters = Partial<Record<'provider_id' | 'status' | 'checkpoint_id', string>>;

const KIND: Record<Table, string> = { plans: 'plan', restores: 'restore', verifications: 'verification' };

/** What a restore or verification listing filters on. */
const operationFilters = (q: ListOperationsQuery): Filters => ({ status: q.status, checkpoint_id: q.checkpointId });

/** What differs between dialects beyond the SQL kysely already writes for each. */
export interface KyselyStoreOptions {
  /**
   * A collation that compares text byte by byte, applied wherever listings order or compare
   * created_at and id, so pages come in the same order on every engine. Absent for SQLite, whose
   * default (BINARY) already does; PostgreSQL passes "C", as its default follows the server's locale.
   */
  bytewiseCollation?: string;
  /** How many records a listing returns without a limit, and at most (default: DEFAULT_PAGE_SIZES). */
  pageSizes?: PageSizes;
}

export class KyselyCatalogStore implements CatalogStore {
  readonly #db: Kysely<Database>;
  readonly #orderKey: (column: OrderColumn) => RawBuilder<string>;
  readonly #pageSizes: PageSizes;
  #closed = false;

  readonly tokens: TokenStore;
  readonly scheduling: SchedulingStore;
  readonly quotas: QuotaStore;
  readonly services: ServiceStore;
  readonly notifications: NotificationStore;

  constructor(db: Kysely<Database>, options: KyselyStoreOptions = {}) {
    this.#db = db;
    this.tokens = new KyselyTokenStore(db as unknown as Kysely<TokenDatabase>);
    this.quotas = new KyselyQuotaStore(db as unknown as Kysely<QuotaDatabase>);
    this.services = new KyselyServiceStore(db as unknown as Kysely<ServiceDatabase>);
    this.notifications = new KyselyNotificationStore(db as unknown as Kysely<NotificationDatabase>);
    this.#pageSizes = options.pageSizes ?? DEFAULT_PAGE_SIZES;
    const collation = options.bytewiseCollation;
    this.#orderKey =
      collation === undefined
        ? (column) => sql<string>`${sql.ref(column)}`
        : (column) => sql<string>`${sql.ref(column)} collate ${sql.id(collation)}`;
    this.scheduling = new KyselySchedulingStore(db as unknown as Kysely<SchedulingDatabase>, this.#orderKey, this.#pageSizes);
  }

  createPlan(plan: PlanRecord): Promise<PlanRecord> {
    return this.#create('plans', planCodec, plan);
  }

  getPlan(projectId: string | null, id: string): Promise<PlanRecord | null> {
    return this.#get('plans', planCodec, projectId, id);
  }

  listPlans(q: ListPlansQuery): Promise<PlanRecord[]> {
    return this.#list('plans', planCodec, q, { provider_id: q.providerId });
  }

  async countPlans(projectId: string): Promise<number> {
    const row = await this.#db
      .selectFrom('plans')
      .select((eb) => eb.fn.countAll<number | string | bigint>().as('n'))
      .where('project_id', '=', projectId)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  updatePlan(projectId: string | null, id: string, patch: PlanPatch): Promise<PlanRecord | null> {
    return this.#update('plans', planCodec, projectId, id, patch);
  }

  async deletePlan(projectId: string | null, id: string): Promise<boolean> {
    const result = await this.#db
      .deleteFrom('plans')
      .where('id', '=', id)
      .$if(projectId !== null, (qb) => qb.where('project_id', '=', projectId as string))
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  createRestore(restore: RestoreRecord): Promise<RestoreRecord> {
    return this.#create('restores', restoreCodec, restore);
  }

  getRestore(projectId: string | null, id: string): Promise<RestoreRecord | null> {
    return this.#get('restores', restoreCodec, projectId, id);
  }

  listRestores(q: ListOperationsQuery): Promise<RestoreRecord[]> {
    return this.#list('restores', restoreCodec, q, operationFilters(q));
  }

  updateRestore(projectId: string | null, id: string, patch: RestorePatch): Promise<RestoreRecord | null> {
    return this.#update('restores', restoreCodec, projectId, id, patch);
  }

  createVerification(verification: VerificationRecord): Promise<VerificationRecord> {
    return this.#create('verifications', verificationCodec, verification);
  }

  getVerification(projectId: string | null, id: string): Promise<VerificationRecord | null> {
    return this.#get('verifications', verificationCodec, projectId, id);
  }

  listVerifications(q: ListOperationsQuery): Promise<VerificationRecord[]> {
    return this.#list('verifications', verificationCodec, q, operationFilters(q));
  }

  updateVerification(projectId: string | null, id: string, patch: VerificationPatch): Promise<VerificationRecord | null> {
    return this.#update('verifications', verificationCodec, projectId, id, patch);
  }

  async listInProgress(): Promise<{ restores: RestoreRecord[]; verifications: VerificationRecord[] }> {
    const q: ListOperationsQuery = { projectId: null, sort: 'asc', status: 'in_progress' };
    return {
      restores: await everyPage((marker) => this.listRestores({ ...q, marker })),
      verifications: await everyPage((marker) => this.listVerifications({ ...q, marker })),
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#db.destroy();
  }

  // The helpers below take the table as a value; the codec passed with it is that table's, which
  // pairs each row with the right record type.

  async #create<T extends Table, R>(table: T, codec: Codec<R, Database[T]>, record: R): Promise<R> {
    const row = codec.toRow(record);
    try {
      await this.#db
        .insertInto(table as Table)
        .values(row)
        .execute();
    } catch (err) {
      // Checked after the fact, portably, rather than by parsing each driver's constraint error.
      const id = (row as { id: string }).id;
      if (await this.#exists(table, id)) {
        throw bwkError(
          'BWK_ERR_INVALID_INPUT',
          { reason: `${KIND[table]} id ${id} already exists: create it with a new id` },
          { cause: err },
        );
      }
      throw err;
    }
    return codec.fromRow(row);
  }

  async #exists(table: Table, id: string): Promise<boolean> {
    const row = await this.#db.selectFrom(table).select('id').where('id', '=', id).executeTakeFirst();
    return row !== undefined;
  }

  async #get<T extends Table, R>(table: T, codec: Codec<R, Database[T]>, projectId: string | null, id: string): Promise<R | null> {
    const row = await this.#db
      .selectFrom(table as Table)
      .selectAll()
      .where('id', '=', id)
      .$if(projectId !== null, (qb) => qb.where('project_id', '=', projectId as string))
      .executeTakeFirst();
    return row === undefined ? null : codec.fromRow(row);
  }

  async #update<T extends Table, R, P extends object>(
    table: T,
    codec: Codec<R, Database[T]>,
    projectId: string | null,
    id: string,
    patch: P,
  ): Promise<R | null> {
    const values = { ...codec.encodePatch(patch), updated_at: nowIso() };
    const row = await this.#db
      .updateTable(table as Table)
      .set(values)
      .where('id', '=', id)
      .$if(projectId !== null, (qb) => qb.where('project_id', '=', projectId as string))
      .returningAll()
      .executeTakeFirst();
    return row === undefined ? null : codec.fromRow(row);
  }

  async #list<T extends Table, R>(table: T, codec: Codec<R, Database[T]>, q: PageQuery, filters: Filters): Promise<R[]> {
    const sort = checkSort(q.sort);
    const limit = pageLimit(q.limit, this.#pageSizes);
    if (q.marker !== undefined && q.after !== undefined)
      throw bwkError('BWK_ERR_INVALID_INPUT', { reason: 'give a marker or a position to list after, not both' });
    const after = q.after ?? (q.marker === undefined ? null : await this.#markerPosition(table, q.projectId, q.marker));
    let query = this.#db
      .selectFrom(table as Table)
      .selectAll()
      .$if(q.projectId !== null, (qb) => qb.where('project_id', '=', q.projectId as string));
    for (const [column, value] of Object.entries(filters) as [keyof Filters, string | undefined][]) {
      if (value !== undefined) query = query.where(sql.ref(column), '=', value);
    }
    if (after !== null) query = query.where(afterPosition(after, sort, this.#orderKey));
    query = query.orderBy(this.#orderKey('created_at'), sort).orderBy(this.#orderKey('id'), sort).limit(limit);
    const rows = await query.execute();
    return rows.map((row) => codec.fromRow(row));
  }

  /** Where the marker record sits; it must be visible to the caller, or it could reveal another project's record. */
  async #markerPosition(table: Table, projectId: string | null, marker: string): Promise<ListPosition> {
    const row = await this.#db
      .selectFrom(table)
      .select(['created_at', 'id'])
      .where('id', '=', marker)
      .$if(projectId !== null, (qb) => qb.where('project_id', '=', projectId as string))
      .executeTakeFirst();
    if (row === undefined) {
      throw bwkError('BWK_ERR_INVALID_INPUT', {
        reason:
          `marker ${marker} not found among the ${KIND[table]}s you can list: pass the id of the last ${KIND[table]} of the ` +
          `previous page`,
      });
    }
    return row;
  }
}

/** Every record of a listing, page by page: for the few callers that need them all (crash recovery). */
async function everyPage<R extends { id: string }>(list: (marker: string | undefined) => Promise<R[]>): Promise<R[]> {
  const all: R[] = [];
  for (let page = await list(undefined); page.length > 0; page = await list(page.at(-1)!.id)) all.push(...page);
  return all;
}

/** Converts one table's records to rows and back: the one place JSON columns are (de)serialized. */
interface Codec<R, Row> {
  toRow(record: R): Row;
  /** Takes a row of this codec's table (kysely types a row of a table union as the merge of all). */
  fromRow(row: object): R;
  /** The row values for a patch; a field that may not be patched is BWK_ERR_INVALID_INPUT. */
  encodePatch(patch: object): Partial<Row>;
}

function codecFor<R, Row>(table: Table, columns: readonly string[], json: readonly string[], patchable: readonly string[]): Codec<R, Row> {
  const isJson = new Set(json);
  // Copying only known columns keeps stray properties of a record (or row) out of SQL and out of results.
  const convert = (from: object, value: (column: string, v: unknown) => unknown): Record<string, unknown> => {
    const src = from as Record<string, unknown>;
    return Object.fromEntries(columns.map((c) => [c, value(c, src[c])]));
  };
  const decode = (row: Record<string, unknown>, column: string, text: unknown): unknown => {
    try {
      return JSON.parse(text as string);
    } catch (err) {
      throw bwkError('BWK_ERR_DATA_CORRUPT', {
        resource: `catalog ${table}.${column} of ${String(row.id)}`,
        reason: `not valid JSON (${(err as Error).message})`,
      });
    }
  };
  return {
    toRow: (record) => convert(record as object, (c, v) => (isJson.has(c) ? JSON.stringify(v) : (v ?? null))) as Row,
    fromRow: (row) => convert(row, (c, v) => (isJson.has(c) ? decode(row as Record<string, unknown>, c, v) : v)) as R,
    encodePatch: (patch) => {
      const values: Record<string, unknown> = {};
      for (const [c, v] of Object.entries(patch)) {
        if (v === undefined) continue;
        if (!patchable.includes(c)) {
          throw bwkError('BWK_ERR_INVALID_INPUT', {
            reason: `${KIND[table]} field "${c}" cannot be updated (updatable: ${patchable.join(', ')})`,
          });
        }
        values[c] = isJson.has(c) ? JSON.stringify(v) : v;
      }
      return values as Partial<Row>;
    },
  };
}

const OPERATION_COLUMNS = [
  'id',
  'project_id',
  'provider_id',
  'checkpoint_id',
  'parameters',
  'status',
  'resources_status',
  'resources_reason',
  'created_at',
  'updated_at',
  'token_id',
  'client_address',
];
const OPERATION_JSON = ['parameters', 'resources_status', 'resources_reason'];
const OPERATION_PATCHABLE = ['status', 'resources_status', 'resources_reason'];

const planCodec = codecFor<PlanRecord, PlanRow>(
  'plans',
  ['id', 'project_id', 'name', 'description', 'provider_id', 'status', 'resources', 'parameters', 'created_at', 'updated_at'],
  ['resources', 'parameters'],
  ['name', 'description', 'status', 'resources', 'parameters'],
);
const restoreCodec = codecFor<RestoreRecord, RestoreRow>(
  'restores',
  [...OPERATION_COLUMNS, 'restore_target'],
  OPERATION_JSON,
  OPERATION_PATCHABLE,
);
const verificationCodec = codecFor<VerificationRecord, VerificationRow>(
  'verifications',
  OPERATION_COLUMNS,
  OPERATION_JSON,
  OPERATION_PATCHABLE,
);
