/** A catalog database as an earlier build left it: migrated only up to a given migration, then seeded. */
import type { Kysely } from 'kysely';
import { Migrator } from 'kysely/migration';
import { catalogMigrationProvider } from '../../src/store/migrations.js';

/** Any table, any columns: the schema of an old catalog is whatever its migrations made, not today's row types. */
export type OldCatalog = Kysely<Record<string, Record<string, unknown>>>;

export async function writeOldCatalog(db: OldCatalog, migration: string, seed: (db: OldCatalog) => Promise<void>): Promise<void> {
  try {
    const { error } = await new Migrator({ db, provider: catalogMigrationProvider }).migrateTo(migration);
    if (error !== undefined) throw error;
    await seed(db);
  } finally {
    await db.destroy();
  }
}
