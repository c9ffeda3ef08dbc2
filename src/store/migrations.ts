/**
 * Catalog schema migrations, shared by every CatalogStore adapter (SQLite now, PostgreSQL later).
 * Written with kysely's schema builder only, and only with types both engines have: JSON and
 * timestamps are text (ISO-8601 strings sort in time order; JSON text keeps key order and is
 * returned byte for byte). Migrations are untyped on purpose: they describe the schema as it was
 * when written and must not change when today's row types do. Never edit a released migration;
 * add a new one whose name sorts after the last.
 */
import type { Kysely } from 'kysely';
import { Migrator, type Migration, type MigrationProvider } from 'kysely/migration';
import { bwkError } from '../core/errors.js';

/** Columns restores and verifications share; restores add restore_target. */
function operationTable(db: Kysely<unknown>, table: string) {
  return db.schema
    .createTable(table)
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('project_id', 'text', (c) => c.notNull())
    .addColumn('provider_id', 'text', (c) => c.notNull())
    .addColumn('checkpoint_id', 'text', (c) => c.notNull())
    .addColumn('parameters', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('resources_status', 'text', (c) => c.notNull())
    .addColumn('resources_reason', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull());
}

/** Indexes every listed table gets: tenant listing in created_at order, and the status filter. */
async function listingIndexes(db: Kysely<unknown>, table: string): Promise<void> {
  await db.schema.createIndex(`${table}_project_created_idx`).on(table).columns(['project_id', 'created_at', 'id']).execute();
  // Admin listings (any project) page over created_at alone.
  await db.schema.createIndex(`${table}_created_idx`).on(table).columns(['created_at', 'id']).execute();
  await db.schema.createIndex(`${table}_status_idx`).on(table).column('status').execute();
}

const m0001Catalog: Migration = {
  async up(db) {
    await db.schema
      .createTable('plans')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('project_id', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('description', 'text', (c) => c.notNull())
      .addColumn('provider_id', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('resources', 'text', (c) => c.notNull())
      .addColumn('parameters', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
    await listingIndexes(db, 'plans');
    await db.schema.createIndex('plans_provider_idx').on('plans').column('provider_id').execute();

    await operationTable(db, 'restores').addColumn('restore_target', 'text').execute();
    await operationTable(db, 'verifications').execute();
    for (const table of ['restores', 'verifications']) {
      await listingIndexes(db, table);
      await db.schema.createIndex(`${table}_checkpoint_idx`).on(table).column('checkpoint_id').execute();
    }
  },
  async down(db) {
    for (const table of ['verifications', 'restores', 'plans']) await db.schema.dropTable(table).execute();
  },
};

/** API tokens: only their SHA-256 is stored (src/store/tokens.ts). */
const m0002Tokens: Migration = {
  async up(db) {
    await db.schema
      .createTable('tokens')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('project_id', 'text', (c) => c.notNull())
      .addColumn('role', 'text', (c) => c.notNull())
      .addColumn('description', 'text', (c) => c.notNull())
      .addColumn('token_hash', 'text', (c) => c.notNull().unique())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('tokens_project_idx').on('tokens').column('project_id').execute();
  },
  async down(db) {
    await db.schema.dropTable('tokens').execute();
  },
};

/**
 * Token expiry and last use (issue 15). Both nullable: tokens made before have no expiry and have
 * not been seen since, which is exactly what null says.
 */
const m0003TokenExpiry: Migration = {
  async up(db) {
    await db.schema.alterTable('tokens').addColumn('expires_at', 'text').execute();
    await db.schema.alterTable('tokens').addColumn('last_used_at', 'text').execute();
  },
  async down(db) {
    await db.schema.alterTable('tokens').dropColumn('last_used_at').execute();
    await db.schema.alterTable('tokens').dropColumn('expires_at').execute();
  },
};

/**
 * Who started a restore or verification through the API (issue 15): the token's id and the client
 * address. Nullable: older records, and operations started by the CLI or the scheduler, have none.
 */
const m0004OperationOrigin: Migration = {
  async up(db) {
    for (const table of ['restores', 'verifications']) {
      await db.schema.alterTable(table).addColumn('token_id', 'text').execute();
      await db.schema.alterTable(table).addColumn('client_address', 'text').execute();
    }
  },
  async down(db) {
    for (const table of ['restores', 'verifications']) {
      await db.schema.alterTable(table).dropColumn('client_address').execute();
      await db.schema.alterTable(table).dropColumn('token_id').execute();
    }
  },
};

/**
 * Triggers, scheduled operations and stored operation logs (issue 16). A log row is also the
 * durable claim of a fire: unique on (scheduled_operation_id, fire_key), so two engine instances
 * cannot both run one due time (or one checkpoint's event) on either database. Manual operations
 * have no scheduled operation, and NULLs never collide in a unique index on SQLite or PostgreSQL.
 */
const m0005Scheduling: Migration = {
  async up(db) {
    await db.schema
      .createTable('triggers')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('project_id', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('properties', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('triggers_project_created_idx').on('triggers').columns(['project_id', 'created_at', 'id']).execute();
    await db.schema.createIndex('triggers_created_idx').on('triggers').columns(['created_at', 'id']).execute();

    await db.schema
      .createTable('scheduled_operations')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('project_id', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('description', 'text', (c) => c.notNull())
      .addColumn('operation_type', 'text', (c) => c.notNull())
      .addColumn('trigger_id', 'text', (c) => c.notNull())
      .addColumn('plan_id', 'text')
      .addColumn('provider_id', 'text')
      .addColumn('operation_definition', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('overlap', 'text', (c) => c.notNull())
      .addColumn('acts_as', 'text', (c) => c.notNull())
      .addColumn('next_due_at', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
    await listingIndexes(db, 'scheduled_operations');
    await db.schema.createIndex('scheduled_operations_trigger_idx').on('scheduled_operations').column('trigger_id').execute();
    await db.schema.createIndex('scheduled_operations_plan_idx').on('scheduled_operations').column('plan_id').execute();
    await db.schema.createIndex('scheduled_operations_due_idx').on('scheduled_operations').columns(['status', 'next_due_at']).execute();

    await db.schema
      .createTable('operation_logs')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('project_id', 'text', (c) => c.notNull())
      .addColumn('scheduled_operation_id', 'text')
      .addColumn('trigger_id', 'text')
      .addColumn('fire_key', 'text')
      .addColumn('operation_type', 'text', (c) => c.notNull())
      .addColumn('plan_id', 'text')
      .addColumn('provider_id', 'text')
      .addColumn('checkpoint_id', 'text')
      .addColumn('restore_id', 'text')
      .addColumn('verification_id', 'text')
      .addColumn('due_at', 'text')
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('phase', 'text', (c) => c.notNull())
      .addColumn('error_info', 'text')
      .addColumn('started_at', 'text')
      .addColumn('ended_at', 'text')
      .addColumn('extra_info', 'text', (c) => c.notNull())
      .addColumn('token_id', 'text')
      .addColumn('client_address', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addUniqueConstraint('operation_logs_fire_unique', ['scheduled_operation_id', 'fire_key'])
      .execute();
    await listingIndexes(db, 'operation_logs');
    await db.schema.createIndex('operation_logs_phase_idx').on('operation_logs').columns(['phase', 'created_at']).execute();
    await db.schema.createIndex('operation_logs_plan_idx').on('operation_logs').column('plan_id').execute();
    await db.schema.createIndex('operation_logs_scheduled_idx').on('operation_logs').column('scheduled_operation_id').execute();
  },
  async down(db) {
    for (const table of ['operation_logs', 'scheduled_operations', 'triggers']) await db.schema.dropTable(table).execute();
  },
};

/**
 * Quota limits set through the API (issue 25): one row per (project or quota class, quota name).
 * What has no row falls back to the class `default`, then to bulwark.yaml's quotas.*.
 */
const m0006Quotas: Migration = {
  async up(db) {
    await db.schema
      .createTable('quota_limits')
      .addColumn('scope', 'text', (c) => c.notNull())
      .addColumn('owner', 'text', (c) => c.notNull())
      .addColumn('resource', 'text', (c) => c.notNull())
      .addColumn('hard_limit', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('quota_limits_pk', ['scope', 'owner', 'resource'])
      .execute();
  },
  async down(db) {
    await db.schema.dropTable('quota_limits').execute();
  },
};

/**
 * The service catalog (issue 25, Karbor's os-services): one row per (host, binary), so a restarted
 * process reuses its row and keeps its status. expires_at is when the last heartbeat stops vouching
 * for the process: a reader tells up from down without knowing the writer's heartbeat settings.
 */
const m0007Services: Migration = {
  async up(db) {
    await db.schema
      .createTable('services')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('host', 'text', (c) => c.notNull())
      .addColumn('binary', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('disabled_reason', 'text')
      .addColumn('heartbeat_at', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addUniqueConstraint('services_host_binary_unique', ['host', 'binary'])
      .execute();
  },
  async down(db) {
    await db.schema.dropTable('services').execute();
  },
};

/**
 * Notification subscriptions and their webhook outbox (issue 22). A delivery is unique per
 * (subscription, event), so an event recorded twice is sent once; claimed_until lets one of several
 * dispatchers hold a row while it sends it, and lets another take it over when that one died.
 */
const m0010Notifications: Migration = {
  async up(db) {
    await db.schema
      .createTable('subscriptions')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('project_id', 'text', (c) => c.notNull())
      .addColumn('target_type', 'text', (c) => c.notNull())
      .addColumn('url', 'text')
      .addColumn('addresses', 'text')
      .addColumn('filter', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('disabled_reason', 'text')
      .addColumn('secret', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('subscriptions_project_idx').on('subscriptions').columns(['project_id', 'status']).execute();
    await db.schema
      .createTable('notification_deliveries')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('subscription_id', 'text', (c) => c.notNull())
      .addColumn('project_id', 'text', (c) => c.notNull())
      .addColumn('event_id', 'text', (c) => c.notNull())
      .addColumn('event_type', 'text', (c) => c.notNull())
      .addColumn('channel', 'text', (c) => c.notNull())
      .addColumn('payload', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull())
      .addColumn('last_status_code', 'integer')
      .addColumn('last_error', 'text')
      .addColumn('next_attempt_at', 'text')
      .addColumn('claimed_by', 'text')
      .addColumn('claimed_until', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addUniqueConstraint('notification_deliveries_event_unique', ['subscription_id', 'event_id'])
      .execute();
    await db.schema
      .createIndex('notification_deliveries_due_idx')
      .on('notification_deliveries')
      .columns(['status', 'next_attempt_at'])
      .execute();
  },
  async down(db) {
    for (const table of ['notification_deliveries', 'subscriptions']) await db.schema.dropTable(table).execute();
  },
};

/** Every catalog migration, by name; names sort in the order they must run. */
export const CATALOG_MIGRATIONS: Readonly<Record<string, Migration>> = Object.freeze({
  '0001_catalog': m0001Catalog,
  '0002_tokens': m0002Tokens,
  '0003_token_expiry': m0003TokenExpiry,
  '0004_operation_origin': m0004OperationOrigin,
  '0005_scheduling': m0005Scheduling,
  '0006_quotas': m0006Quotas,
  '0007_services': m0007Services,
  '0010_notifications': m0010Notifications,
});

/** Serves CATALOG_MIGRATIONS from memory: no migration files to find at run time, bundling stays simple. */
export const catalogMigrationProvider: MigrationProvider = {
  getMigrations: async () => ({ ...CATALOG_MIGRATIONS }),
};

/**
 * Brings the catalog schema up to date; a no-op when it already is. `location` names the catalog in
 * errors (a file path or a redacted URL, never a password).
 */
export async function migrateCatalog<DB>(db: Kysely<DB>, location: string): Promise<void> {
  const { error, results } = await new Migrator({ db, provider: catalogMigrationProvider }).migrateToLatest();
  if (error === undefined) return;
  const reason = error instanceof Error ? error.message : String(error);
  const failed = results?.find((r) => r.status === 'Error')?.migrationName;
  if (/previously executed migration .* is missing/.test(reason)) {
    throw bwkError(
      'BWK_ERR_CATALOG_UNUSABLE',
      { location, reason: `it was migrated by a newer Bulwark (${reason}): upgrade Bulwark or point catalog.url at another catalog` },
      { cause: error },
    );
  }
  const what = failed === undefined ? 'schema migration' : `schema migration ${failed}`;
  throw bwkError('BWK_ERR_CATALOG_UNUSABLE', { location, reason: `${what} failed: ${reason}` }, { cause: error });
}
