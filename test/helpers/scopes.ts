import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dump, load } from 'js-yaml';

/**
 * Every resource the tests make, for a member: tests that are not about resource scopes give their
 * projects this scope, as an operator of a single-tenant deployment would.
 */
const EVERYTHING = {
  'fs.directory': { protect: ['/'], restore: ['/'] },
  'test.recorder': { protect: ['*'], restore: ['*'] },
  'postgres.server': { protect: ['*'], restore: ['*'] },
  'postgres.database': { protect: ['*/*'], restore: ['*/*'] },
  'mariadb.server': { protect: ['*'], restore: ['*'] },
  'mariadb.database': { protect: ['*/*'], restore: ['*/*'] },
  'redis.instance': { protect: ['*'], restore: ['*'] },
  'app.stack': { protect: ['*'], restore: ['*'] },
  noop: { protect: ['*'], restore: ['*'] },
};

/** Lets members of `projects` use everything (merged into `<home>/bulwark.yaml`, which may already say other things). */
export function allowAll(home: string, projects: readonly string[]): void {
  const file = join(home, 'bulwark.yaml');
  const doc = (existsSync(file) ? (load(readFileSync(file, 'utf8')) ?? {}) : {}) as { scopes?: Record<string, unknown> };
  doc.scopes = { ...doc.scopes, ...Object.fromEntries(projects.map((p) => [p, EVERYTHING])) };
  writeFileSync(file, dump(doc), { mode: 0o600 });
}
