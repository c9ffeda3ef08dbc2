/**
 * `npm run soak:postgres`: a memory soak of PostgreSQL protect. Creates `bwk_soak_<rand>` of about
 * --size-mb MiB (default 2048) of hard-to-compress rows on the server of pgUrl(), protects it through
 * the real app (embedded, local engine, fs bank in a temp home), samples this process's RSS every
 * 100 ms while the protect runs, verifies the checkpoint, drops the database and prints the numbers.
 *
 * What it shows: the dump streams from pg_dump's stdout into the bank, so Bulwark's own memory stays
 * flat whatever the database size. pg_dump's memory is its own process and is not counted here.
 *
 * The yardstick, in the same run: plain `pg_dump --format=custom --file` into the same home (same
 * disk), --rounds times in turn with the protect; the ratio pg_dump ÷ protect time of each pair and
 * their median are printed (1.00: the plugin adds nothing over the tool).
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openBulwark } from '../src/processes/app.js';
import { PG_PROVIDER_ID, admin, createDb, dropDb, withDb, writePgProvider } from '../test/helpers/postgres-fixture.js';
import { pgUrl } from '../test/helpers/services.js';
import { median } from '../bench/stats.js';

const { values } = parseArgs({
  options: {
    'size-mb': { type: 'string', default: '2048' },
    'batch-rows': { type: 'string', default: '250000' },
    rounds: { type: 'string', default: '3' },
  },
});
const rounds = Number(values.rounds);
if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds must be a whole number >= 1, got ${values.rounds}`);
const targetMiB = Number(values['size-mb']);
const batchRows = Number(values['batch-rows']);
if (!Number.isFinite(targetMiB) || targetMiB <= 0) throw new Error(`--size-mb must be a positive number, got ${values['size-mb']}`);
if (!Number.isInteger(batchRows) || batchRows <= 0) throw new Error(`--batch-rows must be a positive integer, got ${values['batch-rows']}`);

const MiB = 1024 * 1024;
const mib = (bytes: number): string => (bytes / MiB).toFixed(1);
const rssNow = (): number => process.memoryUsage().rss;

/** VmHWM (peak resident set of this process over its whole life) from /proc, in bytes. */
function vmHwm(): number | null {
  const line = readFileSync('/proc/self/status', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmHWM:'));
  const kb = line ? Number(line.replace(/[^0-9]/g, '')) : NaN;
  return Number.isFinite(kb) ? kb * 1024 : null;
}

/** Samples RSS every 100 ms until stop(), which returns the peak seen (stop() itself samples once more). */
function sampleRss(): { stop(): { peak: number; samples: number } } {
  let peak = rssNow();
  let samples = 1;
  const timer = setInterval(() => {
    peak = Math.max(peak, rssNow());
    samples++;
  }, 100);
  return {
    stop: () => {
      clearInterval(timer);
      return { peak: Math.max(peak, rssNow()), samples: samples + 1 };
    },
  };
}

/** Plain `pg_dump --format=custom --file FILE` of `db`, timed; the password (if any) through PGPASSWORD, never argv. */
function plainDump(db: string, file: string): number {
  const url = new URL(pgUrl());
  const args = ['--format=custom', '--no-password', '--host', url.hostname, '--port', url.port || '5432'];
  args.push('--username', decodeURIComponent(url.username || 'postgres'), '--dbname', db, '--file', file);
  const env = { ...process.env, ...(url.password ? { PGPASSWORD: decodeURIComponent(url.password) } : {}) };
  const t0 = performance.now();
  const r = spawnSync('pg_dump', args, { env, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`pg_dump exited ${r.status ?? r.signal}: ${r.stderr.trim()}`);
  return ms;
}

const databaseSize = async (db: string): Promise<number> =>
  Number((await admin<{ size: string }>('select pg_database_size($1)::text as size', [db])).rows[0]!.size);

/**
 * Fills `db` in batches until pg_database_size reaches the target. A row holds 256 random bytes as
 * base64 (16 md5 digests of random(), decoded): nothing for pglz or zlib to find but the 6-of-8-bit
 * alphabet, so the dump stays close to the table's size. Batches are sized from the bytes per row
 * measured so far, so the database overshoots the target by little.
 */
async function fill(db: string, targetBytes: number): Promise<number> {
  await withDb(db, (c) => c.query('create table soak (id bigint primary key, payload text not null)'));
  const random = `encode(decode(${Array.from({ length: 16 }, () => 'md5(random()::text)').join(' || ')}, 'hex'), 'base64')`;
  const empty = await databaseSize(db);
  let next = 1;
  for (;;) {
    const size = await databaseSize(db);
    process.stderr.write(`  filling: ${mib(size)} / ${mib(targetBytes)} MiB\n`);
    if (size >= targetBytes) return size;
    const perRow = next > 1 ? Math.max(1, (size - empty) / (next - 1)) : 400;
    const rows = Math.max(1000, Math.min(batchRows, Math.ceil((targetBytes - size) / perRow)));
    await withDb(db, (c) =>
      c.query(`insert into soak select g, ${random} from generate_series($1::bigint, $2::bigint) g`, [next, next + rows - 1]),
    );
    next += rows;
  }
}

const db = `bwk_soak_${randomBytes(4).toString('hex')}`;
const home = mkdtempSync(join(tmpdir(), 'bwk-soak-pg-'));
let created = false;
try {
  const server = new URL(pgUrl());
  process.stderr.write(`soak: database ${db} on ${server.hostname}:${server.port || 5432}, target ${targetMiB} MiB, home ${home}\n`);
  await createDb(db);
  created = true;
  const dbBytes = await fill(db, targetMiB * MiB);
  await withDb(db, (c) => c.query('vacuum analyze soak'));
  writePgProvider(home);
  const app = await openBulwark(home);
  try {
    const ctx = { projectId: 'default', admin: false };
    const plan = await app.manager.createPlan(ctx, {
      name: 'soak',
      provider_id: PG_PROVIDER_ID,
      resources: [{ type: 'postgres.database', id: `main/${db}` }],
    });
    // Plain pg_dump and the protect in turn; the last protect is the one measured for memory and verified.
    const plainMs: number[] = [];
    const protectMs: number[] = [];
    const plainFile = join(home, 'plain.dump');
    let plainBytes = 0;
    const plainRound = (): void => {
      plainMs.push(plainDump(db, plainFile));
      plainBytes = statSync(plainFile).size;
      rmSync(plainFile);
    };
    const protectRound = async () => {
      const p0 = performance.now();
      const { record } = await (await app.manager.protect(ctx, plan.id)).done;
      protectMs.push(performance.now() - p0);
      if (record.status !== 'available') throw new Error(`protect ended ${record.status}: ${JSON.stringify(record.extra_info.reason)}`);
      return record;
    };
    for (let i = 1; i < rounds; i++) {
      plainRound();
      await protectRound();
      process.stderr.write(
        `  round ${i}: pg_dump ${(plainMs.at(-1)! / 1000).toFixed(1)} s, protect ${(protectMs.at(-1)! / 1000).toFixed(1)} s\n`,
      );
    }
    plainRound();
    const startRss = rssNow();
    const protectPeak = sampleRss();
    const record = await protectRound();
    const seconds = protectMs.at(-1)! / 1000;
    const protectRss = protectPeak.stop();
    const hwmAfterProtect = vmHwm();
    // The dump goes through the chunk store (its object is a chunk list): its size is the plain pg_dump file's.
    const dumpBytes = plainBytes;
    const verifyPeak = sampleRss();
    const v0 = performance.now();
    const verification = (await (await app.manager.verify(ctx, { checkpoint_id: record.id })).done).record;
    const verifySeconds = (performance.now() - v0) / 1000;
    const verifyRss = verifyPeak.stop();
    if (verification.status !== 'success')
      throw new Error(`verify ended ${verification.status}: ${JSON.stringify(verification.resources_reason)}`);
    const hwm = vmHwm();
    const hwmText =
      hwm === null || hwmAfterProtect === null ? 'unavailable' : `${mib(hwmAfterProtect)} MiB after protect, ${mib(hwm)} MiB at the end`;
    const out = [
      `database size:   ${mib(dbBytes)} MiB (pg_database_size of ${db})`,
      `dump bytes:      ${dumpBytes} (${mib(dumpBytes)} MiB, pg_dump custom format, as the plain pg_dump wrote it)`,
      `protect time:    ${seconds.toFixed(1)} s (the last round's, whose memory follows)`,
      `throughput:      ${(dbBytes / MiB / seconds).toFixed(1)} MiB/s of database, ${(dumpBytes / MiB / seconds).toFixed(1)} MiB/s of dump`,
      `RSS at start:    ${mib(startRss)} MiB (app open, plan created, before protect)`,
      `plain pg_dump:   median ${(median(plainMs) / 1000).toFixed(1)} s (${plainMs.map((m) => (m / 1000).toFixed(1)).join(', ')}), ` +
        `${plainBytes} bytes, \`pg_dump --format=custom --file\` on the same disk`,
      `protect, all:    median ${(median(protectMs) / 1000).toFixed(1)} s (${protectMs.map((m) => (m / 1000).toFixed(1)).join(', ')})`,
      `speed vs pg_dump: median ${median(plainMs.map((m, i) => m / protectMs[i]!)).toFixed(2)}x ` +
        `(${plainMs.map((m, i) => (m / protectMs[i]!).toFixed(2)).join(', ')}; pg_dump time / protect time, paired)`,
      `peak RSS:        ${mib(protectRss.peak)} MiB during protect (${protectRss.samples} samples, every 100 ms)`,
      `peak/start:      ${(protectRss.peak / startRss).toFixed(2)}`,
      `verify:          ${verification.status} in ${verifySeconds.toFixed(1)} s, peak RSS ${mib(verifyRss.peak)} MiB ` +
        `(${verifyRss.samples} samples)`,
      `VmHWM:           ${hwmText} (whole process, /proc/self/status)`,
    ];
    process.stdout.write(`${out.join('\n')}\n`);
  } finally {
    await app.close();
  }
} finally {
  if (created) await dropDb(db).catch((err: unknown) => process.stderr.write(`soak: could not drop ${db}: ${(err as Error).message}\n`));
  rmSync(home, { recursive: true, force: true });
}
