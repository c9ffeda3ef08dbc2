/**
 * Deduplication through the built CLI against a real fs bank: an unchanged directory costs almost
 * nothing the second time (and is not even read), a ~1% change costs about that much, and what comes
 * back is exactly the source. Then an encrypted bank: round trip, no plaintext in the bank, and a
 * wrong passphrase refused before anything is written.
 */
import { expect } from 'chai';
import { createCipheriv, createHash } from 'node:crypto';
import type { Cipheriv } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import {
  closeSync,
  copyFileSync,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  symlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { cliJson, runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/paths.js';
import { expectTreeMatches, snapshotTree, treeBytes } from '../helpers/tree.js';
import type { CheckReport } from '../../src/bank/chunks/check.js';

interface Checkpoint {
  id: string;
  status: string;
  extra_info: { reason?: string };
}
interface OpRecord {
  id: string;
  status: string;
  resources_status: Record<string, string>;
  resources_reason: Record<string, string>;
}
interface SavedInfo {
  files: number;
  bytes: number;
  unchanged_files: number;
  unchanged_bytes: number;
  skipped: { path: string; kind: string }[];
}

const KiB = 1024;
const MiB = 1024 * KiB;

/** Every file below `dir` with a hash of its content, for "nothing changed" comparisons. */
function fileHashes(dir: string, rel = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const name of readdirSync(join(dir, rel))) {
    const r = rel ? `${rel}/${name}` : name;
    const st = lstatSync(join(dir, r));
    if (st.isDirectory()) for (const [k, v] of fileHashes(dir, r)) out.set(k, v);
    else
      out.set(
        r,
        createHash('sha256')
          .update(readFileSync(join(dir, r)))
          .digest('hex'),
      );
  }
  return out;
}

/** The saved_info the fs.directory plugin stored for the (only) resource of a checkpoint. */
function savedInfo(bankDir: string, checkpointId: string): SavedInfo {
  const dir = join(bankDir, 'checkpoints', checkpointId, 'saved-info');
  const [only] = readdirSync(dir);
  if (only === undefined) throw new Error(`no saved info under ${dir}`);
  return JSON.parse(readFileSync(join(dir, only), 'utf8')) as SavedInfo;
}

/** Deterministic bytes: an AES-128-CTR keystream keyed by sha256(seed, label). */
class Keystream {
  private static readonly ZERO = Buffer.alloc(MiB);
  private readonly cipher: Cipheriv;
  private block: Buffer = Buffer.alloc(0);
  private pos = 0;

  constructor(seed: string, label: string) {
    const d = createHash('sha256').update(`${seed}\0${label}`).digest();
    this.cipher = createCipheriv('aes-128-ctr', d.subarray(0, 16), d.subarray(16, 32));
  }

  /** The next n (<= 1 MiB) bytes; not to be mixed with below() on one stream. */
  bytes(n: number): Buffer {
    return this.cipher.update(Keystream.ZERO.subarray(0, n));
  }

  below(n: number): number {
    if (this.pos + 4 > this.block.length) {
      this.block = this.bytes(16 * KiB);
      this.pos = 0;
    }
    const v = this.block.readUInt32LE(this.pos);
    this.pos += 4;
    return v % n;
  }
}

const SEED = 'bulwark-e2e-dedup-1';
const WORDS = (
  'the of and to in is for on with as by at from that this be are was it or an not but config server backup restore ' +
  'snapshot bank chunk index plan checkpoint provider resource request error timeout retry lease worker queue cache disk ' +
  'path file directory owner mode size hash key return const function export import async await class interface type null'
).split(' ');
const NAMES = 'Alice Bruno Chloe David Emma Farid Giulia Hugo Ines Jonas Karin Lucas Maya Nils Olga Pablo Quinn Rosa'.split(' ');
const CITIES = 'Lyon Paris Berlin Milan Madrid Porto Vienna Prague Oslo Dublin Lagos Osaka Seoul Lima'.split(' ');

function smallText(k: Keystream, extra = ''): string {
  const size = 2 * KiB + k.below(14 * KiB);
  const lines: string[] = [extra];
  let length = extra.length;
  while (length < size) {
    let line = k.below(4) === 0 ? '    ' : '';
    const n = 4 + k.below(10);
    for (let w = 0; w < n; w++) line += (w ? ' ' : '') + WORDS[k.below(WORDS.length)];
    line += k.below(8) === 0 ? ` ${k.below(1e9)}\n` : '\n';
    lines.push(line);
    length += line.length;
  }
  return lines.join('').slice(0, size);
}

function sqlRow(k: Keystream, id: number): string {
  const name = NAMES[k.below(NAMES.length)]!;
  const cents = k.below(10_000_000);
  return (
    `INSERT INTO public.customers VALUES (${id}, '${name}', '${name.toLowerCase()}${id % 997}@example.com', ` +
    `'${CITIES[k.below(CITIES.length)]}', ` +
    `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}, ${k.below(500)});\n`
  );
}

function writeRandom(file: string, label: string, size: number): void {
  const k = new Keystream(SEED, label);
  const fd = openSync(file, 'w');
  try {
    for (let done = 0; done < size; done += MiB) writeSync(fd, k.bytes(Math.min(MiB, size - done)));
  } finally {
    closeSync(fd);
  }
}

interface CorpusShape {
  /** Sizes of the incompressible files; the first is also copied byte for byte elsewhere. */
  random: number[];
  sqlBytes: number;
  smallFiles: number;
  /** Written into some small files (and a file name), to look for in the bank. */
  marker?: string;
}

const paths = {
  random: (i: number) => `data/blobs/random-${i}.bin`,
  copy: 'archive/2024/random-0-copy.bin',
  sql: 'db/dump/shop.sql',
  small: (i: number) => `home/u${i % 5}/proj${Math.floor(i / 5) % 10}/note-${i}.txt`,
};

/** Writes the corpus: random files (one duplicated), a SQL dump, small text files. Returns its bytes. */
function generateCorpus(dir: string, shape: CorpusShape): void {
  const put = (rel: string, data: string | Buffer): void => {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), data);
  };
  shape.random.forEach((size, i) => {
    mkdirSync(dirname(join(dir, paths.random(i))), { recursive: true });
    writeRandom(join(dir, paths.random(i)), paths.random(i), size);
  });
  mkdirSync(dirname(join(dir, paths.copy)), { recursive: true });
  copyFileSync(join(dir, paths.random(0)), join(dir, paths.copy));
  const k = new Keystream(SEED, paths.sql);
  const rows: string[] = [
    '-- synthetic dump\nCREATE TABLE public.customers (id bigint, name text, email text, city text, balance numeric, orders int);\n\n',
  ];
  let length = rows[0]!.length;
  for (let id = 1; length < shape.sqlBytes; id++) {
    const row = sqlRow(k, id);
    rows.push(row);
    length += row.length;
  }
  put(paths.sql, rows.join(''));
  for (let i = 0; i < shape.smallFiles; i++) {
    const extra = shape.marker !== undefined && i % 50 === 0 ? `${shape.marker}\n` : '';
    put(paths.small(i), smallText(new Keystream(SEED, paths.small(i)), extra));
  }
}

/**
 * The ~1% change, in place (same inodes): rewrites `smallFiles` small files, overwrites 1 MiB inside
 * the last random file, inserts `rows` rows in the middle of the SQL dump (shifting its tail).
 * Returns how many files it changed.
 */
function mutateCorpus(dir: string, shape: CorpusShape, smallFiles: number, rows: number): number {
  const picks = new Keystream(SEED, 'mutation:picks');
  const chosen = new Set<number>();
  while (chosen.size < smallFiles) chosen.add(picks.below(shape.smallFiles));
  for (const i of chosen) writeFileSync(join(dir, paths.small(i)), smallText(new Keystream(SEED, `mutation:${i}`)));

  const last = shape.random.length - 1;
  const size = shape.random[last]!;
  const at = picks.below(size - MiB);
  const fd = openSync(join(dir, paths.random(last)), 'r+');
  try {
    writeSync(fd, new Keystream(SEED, 'mutation:block').bytes(MiB), 0, MiB, at);
  } finally {
    closeSync(fd);
  }

  const sql = openSync(join(dir, paths.sql), 'r+');
  try {
    const total = fstatSync(sql).size;
    const probe = Buffer.alloc(64 * KiB);
    const middle = Math.floor(total / 2);
    const n = readSync(sql, probe, 0, probe.length, middle);
    const cut = middle + probe.subarray(0, n).indexOf(0x0a) + 1;
    const tail = Buffer.alloc(total - cut);
    readSync(sql, tail, 0, tail.length, cut);
    const k = new Keystream(SEED, 'mutation:sql');
    let inserted = '';
    for (let r = 0; r < rows; r++) inserted += sqlRow(k, 1_000_000 + r);
    const ins = Buffer.from(inserted);
    writeSync(sql, ins, 0, ins.length, cut);
    writeSync(sql, tail, 0, tail.length, cut + ins.length);
  } finally {
    closeSync(sql);
  }
  return chosen.size + 2;
}

describe('e2e: deduplication — an unchanged re-protect is nearly free, a 1% change costs about 1%', function () {
  this.timeout(300_000);
  const home = tempDir('home');
  const work = tempDir('work');
  const source = join(work.path, 'corpus');
  const bank = join(home.path, 'bank');
  // ~215 MiB, mostly incompressible, so the bank is about as big as the corpus. It cannot be ~64 MiB:
  // the 1 MiB rewritten in place costs the chunks around it too (the default chunker cuts 512 KiB to
  // 8 MiB, ~1.2 MiB on average): ~2.5 MB of random data, plus the SQL chunks around the inserted
  // rows, ~3.3 MB in all — 2% only of a bank of 165 MB or more.
  const shape: CorpusShape = { random: [8 * MiB, 64 * MiB, 64 * MiB, 64 * MiB], sqlBytes: 8 * MiB, smallFiles: 500 };
  let planId = '';
  let first: Checkpoint;
  let third: Checkpoint;
  let firstBankBytes = 0;
  let sourceFiles = 0;

  before(() => {
    generateCorpus(source, shape);
    sourceFiles = [...snapshotTree(source).values()].filter((e) => e.type === 'file').length;
  });
  after(() => {
    home.cleanup();
    work.cleanup();
  });

  it('protects the corpus once', async () => {
    const plan = await cliJson<{ id: string }>(home.path, [
      'plan',
      'create',
      '--name',
      'dedup',
      '--provider',
      'fs-directory',
      '--resource',
      `fs.directory=${source}`,
    ]);
    planId = plan.id;
    first = await cliJson<Checkpoint>(home.path, ['checkpoint', 'create', '--plan', planId]);
    expect(first.status).to.equal('available');
    firstBankBytes = treeBytes(bank);
    const info = savedInfo(bank, first.id);
    expect(info.files).to.equal(sourceFiles);
    expect(info.unchanged_files).to.equal(0);
    // The exact duplicate is stored once: the bank is smaller than the random data alone plus its copy.
    const randomBytes = shape.random.reduce((a, b) => a + b, 0);
    expect(firstBankBytes).to.be.below(randomBytes + shape.random[0]!);
  });

  it('protects it again unchanged: < 0.1% more bank bytes, and not one file read', async () => {
    const second = await cliJson<Checkpoint>(home.path, ['checkpoint', 'create', '--plan', planId]);
    expect(second.status).to.equal('available');
    const added = treeBytes(bank) - firstBankBytes;
    expect(added, `second checkpoint added ${added} bytes to a bank of ${firstBankBytes}`).to.be.below(firstBankBytes * 0.001);
    const info = savedInfo(bank, second.id);
    expect(info.files).to.equal(sourceFiles);
    expect(info.unchanged_files).to.equal(info.files);
    expect(info.unchanged_bytes).to.equal(info.bytes);
  });

  it('after a ~1% change in place, the third checkpoint adds < 2% and only the changed files are read', async () => {
    const before = treeBytes(bank);
    const changed = mutateCorpus(source, shape, 5, 200);
    third = await cliJson<Checkpoint>(home.path, ['checkpoint', 'create', '--plan', planId]);
    expect(third.status).to.equal('available');
    const added = treeBytes(bank) - before;
    expect(added, `third checkpoint added ${added} bytes to a bank of ${firstBankBytes}`).to.be.below(firstBankBytes * 0.02);
    const info = savedInfo(bank, third.id);
    expect(info.files).to.equal(sourceFiles);
    expect(info.unchanged_files).to.equal(sourceFiles - changed);
  });

  it('restores the third checkpoint equal to the mutated source, and verifies it', async () => {
    const target = join(work.path, 'restored');
    const restore = await cliJson<OpRecord>(home.path, [
      'restore',
      'create',
      '--checkpoint',
      third.id,
      '--parameters',
      JSON.stringify({ 'fs.directory': { target_path: target } }),
    ]);
    expect(restore.status).to.equal('success');
    expectTreeMatches(target, snapshotTree(source));
    const v = await cliJson<OpRecord>(home.path, ['verification', 'create', '--checkpoint', third.id]);
    expect(v.status).to.equal('success');
  });
});

describe('e2e: an encrypted bank — round trip, no plaintext at rest, a wrong passphrase refused', function () {
  this.timeout(180_000);
  const home = tempDir('home');
  const work = tempDir('work');
  const source = join(work.path, 'corpus');
  const ebank = join(work.path, 'encrypted-bank');
  const PROVIDER_ID = '5e7e57e5-0000-4000-8000-0000000e4c01';
  // Never on a command line: only in the environment of the CLI processes.
  const PASS = { BWK_E2E_PASS: `e2e-${createHash('sha256').update(String(process.pid)).digest('hex').slice(0, 24)}` };
  const WRONG = { BWK_E2E_PASS: 'not-the-passphrase' };
  const MARKER = 'BWK-PLAINTEXT-MARKER-7d41c9';
  const shape: CorpusShape = { random: [1 * MiB, 3 * MiB], sqlBytes: 2 * MiB, smallFiles: 100, marker: MARKER };
  let planId = '';
  let checkpoint: Checkpoint;

  before(() => {
    expect(process.env['BWK_E2E_PASS'], 'the passphrase must come only from the child env').to.equal(undefined);
    generateCorpus(source, shape);
    // The marker in a file name and a symlink target too: the manifest is as secret as the data.
    mkdirSync(join(source, 'names'));
    writeFileSync(join(source, 'names', `${MARKER}.txt`), 'named\n');
    symlinkSync(`../${MARKER}.target`, join(source, 'names', 'link'));
    mkdirSync(join(home.path, 'providers'), { recursive: true });
    writeFileSync(
      join(home.path, 'providers', 'encrypted.yaml'),
      [
        `id: ${PROVIDER_ID}`,
        'name: encrypted-fs',
        'plugins:',
        '  - name: fs.directory',
        'bank:',
        '  type: fs',
        `  options: {path: ${JSON.stringify(ebank)}}`,
        '  encryption: {passphrase_env: BWK_E2E_PASS}',
        '',
      ].join('\n'),
    );
  });
  after(() => {
    home.cleanup();
    work.cleanup();
  });

  it('protects and restores through the encrypted bank', async () => {
    const plan = await runCli(
      home.path,
      ['plan', 'create', '--name', 'secret', '--provider', PROVIDER_ID, '--resource', `fs.directory=${source}`],
      { env: PASS },
    );
    expect(plan.code, plan.stderr).to.equal(0);
    planId = plan.json<{ id: string }>().id;
    const made = await runCli(home.path, ['checkpoint', 'create', '--plan', planId], { env: PASS });
    expect(made.code, made.stderr).to.equal(0);
    checkpoint = made.json<Checkpoint>();
    expect(checkpoint.status).to.equal('available');
    const target = join(work.path, 'restored');
    const restore = await runCli(
      home.path,
      ['restore', 'create', '--checkpoint', checkpoint.id, '--parameters', JSON.stringify({ 'fs.directory': { target_path: target } })],
      { env: PASS },
    );
    expect(restore.code, restore.stderr).to.equal(0);
    expect(restore.json<OpRecord>().status).to.equal('success');
    expectTreeMatches(target, snapshotTree(source));
    const check = await runCli(home.path, ['bank', 'check', '--provider', PROVIDER_ID, '--read-data'], { env: PASS });
    expect(check.code, check.stderr).to.equal(0);
    const report = check.json<CheckReport>();
    expect(report.ok).to.equal(true);
    expect(report.packs_read).to.be.above(0);
  });

  it('keeps no plaintext of the corpus in the bank: neither content nor names', () => {
    const marker = Buffer.from(MARKER);
    // Sanity: the marker really is in the source, in content and in names.
    expect(readFileSync(join(source, paths.small(0))).includes(marker)).to.equal(true);
    const hits: string[] = [];
    const scan = (dir: string): void => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (name.includes(MARKER)) hits.push(`${path} (name)`);
        if (lstatSync(path).isDirectory()) scan(path);
        else if (readFileSync(path).includes(marker)) hits.push(path);
      }
    };
    scan(ebank);
    expect(hits, 'bank objects holding the plaintext marker').to.deep.equal([]);
    // And the SQL text, which compresses well, is not stored readable either.
    const sqlLine = readFileSync(join(source, paths.sql), 'latin1').split('\n')[5]!;
    expect(sqlLine.length).to.be.above(20);
    const withSql = [...fileHashes(ebank).keys()].filter((rel) => readFileSync(join(ebank, rel)).includes(Buffer.from(sqlLine, 'latin1')));
    expect(withSql).to.deep.equal([]);
  });

  it('keeps the names of skipped entries (a FIFO) out of the bank in plaintext too', async () => {
    const FIFO_MARKER = 'BWK-FIFO-NAME-MARKER-0b93e2';
    const dir = join(work.path, 'with-fifo');
    mkdirSync(dir);
    writeFileSync(join(dir, 'plain.txt'), 'hello\n');
    execFileSync('mkfifo', [join(dir, `${FIFO_MARKER}.pipe`)]);
    const plan = await runCli(
      home.path,
      ['plan', 'create', '--name', 'fifo', '--provider', PROVIDER_ID, '--resource', `fs.directory=${dir}`],
      { env: PASS },
    );
    expect(plan.code, plan.stderr).to.equal(0);
    const made = await runCli(home.path, ['checkpoint', 'create', '--plan', plan.json<{ id: string }>().id], { env: PASS });
    expect(made.code, made.stderr).to.equal(0);
    const hits = [...fileHashes(ebank).keys()].filter((rel) => readFileSync(join(ebank, rel)).includes(Buffer.from(FIFO_MARKER)));
    expect(hits, 'bank objects holding the name of the skipped FIFO in plaintext').to.deep.equal([]);
  });

  /** Runs one command with the wrong passphrase: it must fail BWK_ERR_BANK_KEY_WRONG, print no secret, and change no bank file. */
  async function withWrongPassphrase(args: string[]): Promise<void> {
    const before = fileHashes(ebank);
    const r = await runCli(home.path, args, { env: WRONG });
    expect(r.code, r.stderr).to.equal(1);
    expect(r.stderr.includes(WRONG.BWK_E2E_PASS) || r.stdout.includes(WRONG.BWK_E2E_PASS), 'printed the passphrase').to.equal(false);
    expect(r.error().code, r.stderr).to.equal('BWK_ERR_BANK_KEY_WRONG');
    const after = fileHashes(ebank);
    const changed = [...new Set([...before.keys(), ...after.keys()])].filter((k) => before.get(k) !== after.get(k)).sort();
    expect(changed, `bank files changed (stdout: ${r.stdout.replace(/\s+/g, ' ').slice(0, 200)})`).to.deep.equal([]);
  }

  it('a wrong passphrase: bank check fails BWK_ERR_BANK_KEY_WRONG, the bank unchanged', async () => {
    await withWrongPassphrase(['bank', 'check', '--provider', PROVIDER_ID, '--read-data']);
  });

  it('a wrong passphrase: restore fails BWK_ERR_BANK_KEY_WRONG, the bank unchanged', async () => {
    await withWrongPassphrase([
      'restore',
      'create',
      '--checkpoint',
      checkpoint.id,
      '--parameters',
      JSON.stringify({ 'fs.directory': { target_path: join(work.path, 'wrong') } }),
    ]);
  });

  it('a wrong passphrase: checkpoint create fails BWK_ERR_BANK_KEY_WRONG, the bank unchanged', async () => {
    await withWrongPassphrase(['checkpoint', 'create', '--plan', planId]);
  });

  it('the right passphrase still opens the bank afterwards', async () => {
    const check = await runCli(home.path, ['bank', 'check', '--provider', PROVIDER_ID, '--read-data'], { env: PASS });
    expect(check.code, check.stderr).to.equal(0);
    expect(check.json<CheckReport>().ok).to.equal(true);
  });
});
