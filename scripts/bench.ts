/**
 * `npm run bench`: Bulwark against restic, borg and the tar references on a seeded ~1 GB corpus
 * (bench/corpus.ts), step by step — backup, backup with no change, backup after a 1% change,
 * restore of the latest snapshot, full read-back check — with the page cache evicted before every
 * step. Prints a Markdown report and writes it into bench/results.md (method: top of that file).
 *
 * Options: --size F (scales the corpus; 0.02 for a quick run), --work DIR (default: a new temp dir
 * under $BENCH_DIR or /tmp), --only tar,zstd,bulwark,restic,borg,bulwark-s3,restic-s3 (the S3 pair on the
 * MinIO of scripts/minio-dev.sh), --keep (leave the work dir),
 * --seed S, --results FILE, --runs N (N runs in a row and a summary of their medians), --json FILE
 * (the results as JSON, for --runs), --files N (instead of the 1 GB corpus, N small files from
 * bench/file-tree.ts, and only the steps whose cost is per file: backup, backup with no change,
 * restore; `npm run bench:files` is a million). The passphrase comes from $BENCH_PASSPHRASE or is
 * random per run.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { bulwark, bulwarkS3 } from '../bench/bulwark.js';
import { corpusSpec, generateCorpus, mutateCorpus } from '../bench/corpus.js';
import { FILES_PER_DIR, generateFileTree } from '../bench/file-tree.js';
import { aptInstall, dropCaches, duBytes, findGnuTime, lastLines, measure, which } from '../bench/measure.js';
import { machineFacts, renderReport, STEPS, writeResults, type StepName, type StepResult, type ToolResult } from '../bench/report.js';
import { borg, restic, resticS3, tarCat, tarZstd, type StepCommand, type Tool, type ToolContext } from '../bench/tools.js';
import { compareListings, treeBytes, treeListing } from '../bench/tree.js';
import { runMany } from '../bench/runs.js';

const FACTORIES: Record<string, (ctx: ToolContext & { restoreRoot: string }) => Tool> = {
  tar: tarCat,
  zstd: tarZstd,
  bulwark,
  restic,
  borg,
  // On the MinIO of scripts/minio-dev.sh (BULWARK_TEST_S3_*); skipped with the reason when it is not running.
  'bulwark-s3': bulwarkS3,
  'restic-s3': resticS3,
};

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: '1' },
    work: { type: 'string' },
    only: { type: 'string', default: Object.keys(FACTORIES).join(',') },
    keep: { type: 'boolean', default: false },
    seed: { type: 'string', default: 'bulwark-bench-1' },
    results: { type: 'string', default: fileURLToPath(new URL('../../bench/results.md', import.meta.url)) },
    runs: { type: 'string', default: '1' },
    json: { type: 'string' },
    files: { type: 'string' },
  },
});
const size = Number(values.size);
const fileCount = values.files === undefined ? 0 : Number(values.files);
if (values.files !== undefined && !(Number.isInteger(fileCount) && fileCount >= 1)) {
  process.stderr.write(`bench: --files must be a whole number >= 1, got ${values.files}\n`);
  process.exit(2);
}
const only = values.only
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
const unknown = only.filter((k) => !(k in FACTORIES));
const badSize = `--size must be > 0, got ${values.size}`;
if (!(size > 0) || unknown.length) {
  process.stderr.write(
    `bench: ` + `${unknown.length ? `unknown tool(s) ${unknown.join(', ')}; known: ${Object.keys(FACTORIES).join(', ')}` : badSize}\n`,
  );
  process.exit(2);
}
const log = (msg: string): void => {
  process.stderr.write(`bench: ${msg}\n`);
};
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) {
  process.stderr.write(`bench: --runs must be a whole number >= 1, got ${values.runs}\n`);
  process.exit(2);
}
if (runs > 1) {
  // Each run a child with the same options; this process only gathers and summarises.
  const childArgs: string[] = [];
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--runs' || a === '--results' || a === '--json') i++;
    else if (!/^--(runs|results|json)=/.test(a)) childArgs.push(a);
  }
  const markdown = runMany(fileURLToPath(import.meta.url), childArgs, runs, log);
  process.stdout.write(`${markdown}\n`);
  writeResults(values.results, markdown);
  log(`report of ${runs} runs written to ${values.results}`);
  process.exit(0);
}
const notes = new Set<string>();
const spec = corpusSpec(size, values.seed);

// The work dir: ours (a new temp dir) is removed at the end; a given one only loses what we put in it.
const ownWork = !values.work;
const base = process.env.BENCH_DIR ?? tmpdir();
mkdirSync(values.work ?? base, { recursive: true });
const work = values.work ? resolve(values.work) : mkdtempSync(join(base, 'bulwark-bench-'));
const corpus = join(work, 'corpus');
const restoreRoot = join(work, 'restore');
const toolsRoot = join(work, 'tools');
for (const d of [corpus, restoreRoot, toolsRoot]) rmSync(d, { recursive: true, force: true });
mkdirSync(restoreRoot, { recursive: true });
log(`work dir ${work}`);

// Roughly, in corpus sizes: the corpus, and per tool what it keeps (three full tar archives, three
// zstd ones at ~2/3, a deduplicated repository at ~2/3) plus its restore, kept until the end.
const KEEPS: Record<string, number> = { tar: 3, zstd: 2 };
const factor = 1 + only.reduce((n, key) => n + (KEEPS[key] ?? 0.7) + 1, 0);
// A small file takes a 4 KiB block wherever it is written (corpus, restores).
const nominal = fileCount ? fileCount * 4096 : 1.0e9 * size;
const free = (() => {
  const s = statfsSync(work);
  return s.bavail * s.bsize;
})();
if (free < factor * nominal) {
  log(
    `not enough free space in ${work}: ${(free / 1e9).toFixed(1)} GB free, about ${((factor * nominal) / 1e9).toFixed(1)} GB needed (use ` +
      `--work or $BENCH_DIR)`,
  );
  if (ownWork) rmSync(work, { recursive: true, force: true });
  process.exit(1);
}

// Tools: install what is missing once, skip what still is.
// An empty $BENCH_PASSPHRASE counts as unset (restic and Bulwark refuse an empty passphrase).
const passphrase = process.env.BENCH_PASSPHRASE || randomBytes(24).toString('base64url');
const tools = only.map((key) => {
  const dir = join(toolsRoot, key);
  return { key, dir, tool: FACTORIES[key]!({ corpus, dir, passphrase, restoreRoot }) };
});
const missing = (t: Tool): string[] => Object.keys(t.requires).filter((exe) => !which(exe));
const packages = [...new Set(tools.flatMap(({ tool }) => missing(tool).map((exe) => tool.requires[exe]!)))];
let gnuTime = findGnuTime();
if (!gnuTime) packages.push('time');
const aptError = aptInstall(packages);
if (!gnuTime) gnuTime = findGnuTime();
if (!gnuTime) notes.add(`GNU time unavailable (${aptError ?? 'not found'}): peak RSS from the /proc sampler only`);

const results: ToolResult[] = [];
const states = tools
  .map(({ key, dir, tool }) => {
    const result: ToolResult = { key, name: tool.name, version: '', settings: tool.settings(), steps: [], restoreCheck: 'not restored' };
    results.push(result);
    const gone = missing(tool);
    if (gone.length) {
      result.skipped = `${gone.join(', ')} not installed${aptError ? ` (${aptError})` : ''}`;
      return null;
    }
    try {
      result.version = tool.version();
    } catch (err) {
      result.version = `unknown (${(err as Error).message})`;
    }
    return { key, dir, tool, result, failed: '' };
  })
  .filter((s) => s !== null);

// The corpus, generated fresh each run (determinism makes reruns comparable).
let t0 = performance.now();
const stats = fileCount ? generateFileTree(corpus, fileCount, values.seed) : generateCorpus(corpus, spec);
const generateMs = performance.now() - t0;
const originalBytes = treeBytes(corpus);
log(`corpus: ${stats.files} files, ${(originalBytes / 1e6).toFixed(1)} MB in ${(generateMs / 1000).toFixed(1)} s`);

for (const s of states) {
  mkdirSync(s.dir, { recursive: true });
  try {
    s.tool.setup();
  } catch (err) {
    // Reported once, as a skipped tool, rather than on each of its steps.
    s.failed = s.result.skipped = `setup failed: ${(err as Error).message}`;
    log(`${s.tool.name}: ${s.failed}`);
  }
}

type State = (typeof states)[number];

/** One timed step of one tool; a failed backup skips the tool's later steps. */
async function step(s: State, name: StepName, logicalBytes: number, make: () => StepCommand | { na: string }): Promise<boolean> {
  const record = (r: Omit<StepResult, 'step' | 'logicalBytes'>): void => {
    s.result.steps.push({ step: name, logicalBytes, ...r });
  };
  if (s.failed) {
    record({ status: 'skipped', note: s.failed });
    return false;
  }
  let cmd: StepCommand | { na: string };
  try {
    cmd = make();
  } catch (err) {
    record({ status: 'failed', note: (err as Error).message });
    return false;
  }
  if ('na' in cmd) {
    record({ status: 'n/a', note: cmd.na });
    return false;
  }
  const evicted = dropCaches();
  if (evicted) notes.add(evicted);
  log(`${s.tool.name}: ${name} …`);
  let m;
  try {
    m = await measure(cmd, gnuTime, s.dir);
  } catch (err) {
    record({ status: 'failed', note: `cannot run ${cmd.argv[0]}: ${(err as Error).message}` });
    if (name.startsWith('backup')) s.failed = `${name} failed`;
    return false;
  }
  let note = m.code === 0 ? '' : `exit ${m.code}: ${lastLines(m.stderr || m.stdout)}`;
  if (!note && cmd.parse) {
    try {
      cmd.parse(m.stdout);
    } catch (err) {
      note = (err as Error).message;
    }
  }
  record({
    status: note ? 'failed' : 'ok',
    wallMs: m.wallMs,
    peakRssBytes: m.peakRssBytes,
    storedBytes: s.tool.storedBytes ? await s.tool.storedBytes() : duBytes(s.tool.repoDir),
    ...(note ? { note } : {}),
  });
  log(`${s.tool.name}: ${name} ${note ? `FAILED (${note})` : `${(m.wallMs / 1000).toFixed(2)} s`}`);
  if (note && name.startsWith('backup')) s.failed = `${name} failed`;
  return !note;
}

// Phase by phase, every tool in turn, so all see the same corpus state; the change happens once.
for (const [n, name] of [
  [1, STEPS[0]],
  [2, STEPS[1]],
] as const) {
  for (const s of states) await step(s, name, originalBytes, () => s.tool.backup(n));
}
// The file tree is not changed: its steps are the first backup, the no-change one and the restore.
t0 = performance.now();
if (!fileCount) mutateCorpus(corpus, spec);
const mutateMs = performance.now() - t0;
const mutatedBytes = fileCount ? originalBytes : treeBytes(corpus);
if (!fileCount) for (const s of states) await step(s, STEPS[2], mutatedBytes, () => s.tool.backup(3));

const expected = treeListing(corpus); // untimed, after the change: what every restore must equal
for (const s of states) {
  const target = join(restoreRoot, s.key);
  rmSync(target, { recursive: true, force: true });
  if (await step(s, STEPS[3], mutatedBytes, () => s.tool.restore(target))) {
    s.result.restoreCheck = compareListings(expected, treeListing(target));
    log(`${s.tool.name}: restored tree ${s.result.restoreCheck}`);
  }
  if (!values.keep) rmSync(target, { recursive: true, force: true });
}
if (!fileCount) for (const s of states) await step(s, STEPS[4], mutatedBytes, () => s.tool.check());

const args = process.argv
  .slice(2)
  .map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`))
  .join(' ');
const report = renderReport({
  date: new Date(),
  command:
    process.env.npm_lifecycle_event === 'bench' ? `npm run bench${args ? ` -- ${args}` : ''}` : `node dist/scripts/bench.js ${args}`.trim(),
  size,
  spec,
  corpus: { files: stats.files, bytes: originalBytes, mutatedBytes, generateMs, mutateMs },
  ...(fileCount
    ? {
        title: `${fileCount} small files`,
        corpusText:
          `Corpus (seed \`${values.seed}\`, bench/file-tree.ts): ${stats.files} files of 0–1,023 bytes (hex text), ${FILES_PER_DIR} to a ` +
          `directory, ${(originalBytes / 1e6).toFixed(1)} MB; generated in ${(generateMs / 1000).toFixed(1)} s. Not changed between ` +
          `backups; no check step.`,
      }
    : {}),
  machine: machineFacts(work),
  tools: results,
  notes: [
    ...notes,
    'Wall time covers the command alone: repository creation, cache eviction, `du -sb` and restore verification are outside it. No tool ' +
      'is asked to fsync at the end; the `sync` before the next step is untimed.',
  ],
});
process.stdout.write(`${report}\n`);
writeResults(values.results, report);
if (values.json) writeFileSync(values.json, JSON.stringify(results));
log(`report written to ${values.results}`);

if (values.keep) {
  if (!process.env.BENCH_PASSPHRASE) writeFileSync(join(work, 'passphrase'), `${passphrase}\n`, { mode: 0o600 });
  log(`kept ${work} (passphrase of the repositories in ${join(work, 'passphrase')} or $BENCH_PASSPHRASE)`);
} else if (ownWork) {
  rmSync(work, { recursive: true, force: true });
} else {
  for (const d of [corpus, restoreRoot, toolsRoot]) rmSync(d, { recursive: true, force: true });
}
