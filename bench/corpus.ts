/**
 * The benchmark corpus: a deterministic tree of about 1 GB (at size 1) that looks like a server's
 * data — large incompressible files (one duplicated), a compressible SQL dump, many small text files
 * (some duplicated elsewhere) — and the "1% change" applied to it in place between backups.
 *
 * Every byte comes from an AES-128-CTR keystream keyed by sha256(seed, label), one stream per file
 * or decision, so the same seed gives the same bytes regardless of order and generation runs at disk
 * speed (Math.random is neither seedable nor fast enough for a gigabyte).
 */
import { createCipheriv, createHash, type Cipheriv } from 'node:crypto';
import { closeSync, copyFileSync, fstatSync, mkdirSync, openSync, readSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';

const KiB = 1024;
const MiB = 1024 * KiB;

/** What a corpus of a given size holds, and what its mutation changes. */
export interface CorpusSpec {
  seed: string;
  randomFiles: number;
  randomFileBytes: number;
  sqlBytes: number;
  smallFiles: number;
  smallDuplicates: number;
  mutatedSmallFiles: number;
  mutatedBigBytes: number;
  insertedRows: number;
}

/**
 * Scales the size-1 corpus by `size`: sizes of the large files and counts of the small ones (a small
 * file stays ~11 KiB, so the mix of file kinds is the same at every size); at least one of each.
 */
export function corpusSpec(size: number, seed = 'bulwark-bench-1'): CorpusSpec {
  if (!(size > 0)) throw new Error(`corpus size must be > 0, got ${size}`);
  const count = (n: number): number => Math.max(1, Math.round(n * size));
  const bytes = (n: number, min: number): number => Math.max(min, Math.round(n * size));
  const smallFiles = count(10_000);
  return {
    seed,
    randomFiles: 4,
    randomFileBytes: bytes(128 * MiB, 64 * KiB),
    sqlBytes: bytes(192 * MiB, 64 * KiB),
    smallFiles,
    smallDuplicates: Math.min(smallFiles, count(1_000)),
    mutatedSmallFiles: Math.min(smallFiles, count(100)),
    mutatedBigBytes: bytes(1 * MiB, 4 * KiB),
    insertedRows: count(100),
  };
}

/** Deterministic bytes and numbers for one label of a seed. */
export class Stream {
  private static readonly ZERO = Buffer.alloc(1 * MiB);
  private readonly cipher: Cipheriv;
  private block: Buffer = Buffer.alloc(0);
  private pos = 0;

  constructor(seed: string, label: string) {
    const d = createHash('sha256').update(seed).update('\0').update(label).digest();
    this.cipher = createCipheriv('aes-128-ctr', d.subarray(0, 16), d.subarray(16, 32));
  }

  /** The next n (≤ 1 MiB) keystream bytes; do not mix with u32() on the same stream. */
  bytes(n: number): Buffer {
    return this.cipher.update(Stream.ZERO.subarray(0, n));
  }

  u32(): number {
    if (this.pos + 4 > this.block.length) {
      this.block = this.bytes(16 * KiB);
      this.pos = 0;
    }
    const v = this.block.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }

  /** An integer in [0, n). The modulo bias is irrelevant here: only determinism matters. */
  below(n: number): number {
    return n <= 0x1_0000_0000 ? this.u32() % n : Math.floor((this.u32() / 0x1_0000_0000) * n);
  }

  /** k distinct integers in [0, n), in pick order (partial Fisher–Yates). */
  pick(k: number, n: number): number[] {
    const a = Array.from({ length: n }, (_, i) => i);
    for (let i = 0; i < k; i++) {
      const j = i + this.below(n - i);
      [a[i], a[j]] = [a[j]!, a[i]!];
    }
    return a.slice(0, k);
  }
}

/** Relative paths of the corpus's files, shared by the generator, the mutation and tests. */
export const corpusPaths = {
  random: (i: number): string => `data/blobs/random-${i}.bin`,
  randomCopy: 'archive/2024/random-0-copy.bin',
  sql: 'db/dump/shop.sql',
  // 10 × 10 leaf directories of 100 files at size 1: nested, as in a real tree.
  small: (i: number): string => `home/u${Math.floor(i / 1000) % 10}/proj${Math.floor(i / 100) % 10}/note-${i}.txt`,
  smallCopy: (j: number): string => `shared/c${Math.floor(j / 100)}/copy-${j}.txt`,
};

export interface CorpusStats {
  files: number;
  bytes: number;
}

/** Writes the corpus into `dir` (created; must not hold another corpus). */
export function generateCorpus(dir: string, spec: CorpusSpec): CorpusStats {
  let files = 0;
  let bytes = 0;
  const put = (rel: string, data: Buffer | string): void => {
    const file = join(dir, rel);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, data);
    files++;
    bytes += typeof data === 'string' ? Buffer.byteLength(data) : data.length;
  };

  for (let i = 0; i < spec.randomFiles; i++) {
    const rel = corpusPaths.random(i);
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeRandom(join(dir, rel), new Stream(spec.seed, rel), spec.randomFileBytes);
    files++;
    bytes += spec.randomFileBytes;
  }
  mkdirSync(dirname(join(dir, corpusPaths.randomCopy)), { recursive: true });
  copyFileSync(join(dir, corpusPaths.random(0)), join(dir, corpusPaths.randomCopy));
  files++;
  bytes += spec.randomFileBytes;

  mkdirSync(dirname(join(dir, corpusPaths.sql)), { recursive: true });
  bytes += writeSqlDump(join(dir, corpusPaths.sql), new Stream(spec.seed, corpusPaths.sql), spec.sqlBytes);
  files++;

  for (let i = 0; i < spec.smallFiles; i++) {
    const rel = corpusPaths.small(i);
    put(rel, smallText(new Stream(spec.seed, rel)));
  }
  const sources = new Stream(spec.seed, 'small-duplicates').pick(spec.smallDuplicates, spec.smallFiles);
  sources.forEach((src, j) => {
    const rel = corpusPaths.smallCopy(j);
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    copyFileSync(join(dir, corpusPaths.small(src)), join(dir, rel));
    files++;
    bytes += statSync(join(dir, rel)).size;
  });
  return { files, bytes };
}

/**
 * The "1% change", in place (same inodes): rewrites some small files, overwrites a block inside the
 * last random file (not the duplicated one, so the duplicate stays exact), and inserts rows in the
 * middle of the SQL dump.
 */
export function mutateCorpus(dir: string, spec: CorpusSpec): void {
  const picks = new Stream(spec.seed, 'mutation:small-picks').pick(spec.mutatedSmallFiles, spec.smallFiles);
  for (const i of picks) {
    const rel = corpusPaths.small(i);
    writeFileSync(join(dir, rel), smallText(new Stream(spec.seed, `mutation:${rel}`)));
  }

  const big = join(dir, corpusPaths.random(spec.randomFiles - 1));
  const change = Math.min(spec.mutatedBigBytes, spec.randomFileBytes);
  const at = new Stream(spec.seed, 'mutation:big-offset').below(spec.randomFileBytes - change + 1);
  const fd = openSync(big, 'r+');
  try {
    const ks = new Stream(spec.seed, 'mutation:big-bytes');
    for (let done = 0; done < change;) {
      const chunk = ks.bytes(Math.min(MiB, change - done));
      writeSync(fd, chunk, 0, chunk.length, at + done);
      done += chunk.length;
    }
  } finally {
    closeSync(fd);
  }

  insertSqlRows(join(dir, corpusPaths.sql), spec);
}

function writeRandom(file: string, ks: Stream, size: number): void {
  const fd = openSync(file, 'w');
  try {
    for (let done = 0; done < size;) {
      const chunk = ks.bytes(Math.min(MiB, size - done));
      writeSync(fd, chunk);
      done += chunk.length;
    }
  } finally {
    closeSync(fd);
  }
}

const FIRST =
  'Alice Bruno Chloe David Emma Farid Giulia Hugo Ines Jonas Karin Lucas Maya Nils Olga Pablo Quinn Rosa Sami Tara Ugo Vera Wim Xenia ' +
  'Yusuf Zoe Anna Ben Clara Dario Elif Femi Greta Hanna Ivan Julia Kofi Lena Marco Nora'.split(' ');
const LAST =
  'Martin Bernard Dubois Rossi Muller Schmidt Garcia Lopez Novak Kowalski Jensen Smith Brown Wilson Taylor Moreau Laurent Fischer Weber ' +
  'Meyer Costa Silva Santos Nakamura Tanaka Kim Lee Chen Wang Singh Patel Khan Ali Okafor Mensah Petrov Ivanova Horvat Nagy'.split(' ');
const CITIES =
  'Lyon Paris Berlin Hamburg Milan Turin Madrid Porto Lisbon Vienna Prague Krakow Oslo Dublin Leeds Bristol Lagos Accra Osaka Seoul ' +
  'Austin Denver Quebec Lima'.split(' ');
const EPOCH_2015 = Date.UTC(2015, 0, 1);

/** One INSERT per row, as `pg_dump --inserts` writes them: highly repetitive, compresses like a dump. */
function sqlRow(r: Stream, id: number): string {
  const first = FIRST[r.below(FIRST.length)]!;
  const last = LAST[r.below(LAST.length)]!;
  const cents = r.below(10_000_000);
  const created = new Date(EPOCH_2015 + r.below(10 * 365 * 86_400) * 1000).toISOString();
  return (
    `INSERT INTO public.customers VALUES (${id}, '${first}', '${last}', ` +
    `'${first.toLowerCase()}.${last.toLowerCase()}${id % 997}@example.com', ` +
    `'${CITIES[r.below(CITIES.length)]}', ${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}, ${r.below(500)}, ` +
    `'${created.slice(0, 10)} ${created.slice(11, 19)}');\n`
  );
}

const SQL_HEADER = `--
-- PostgreSQL database dump (synthetic: Bulwark benchmark corpus)
--
SET statement_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;

CREATE TABLE public.customers (
    id bigint NOT NULL,
    first_name text NOT NULL,
    last_name text NOT NULL,
    email text NOT NULL,
    city text,
    balance numeric(12,2) NOT NULL,
    orders integer NOT NULL,
    created_at timestamp without time zone NOT NULL
);

`;
const SQL_FOOTER = '\nALTER TABLE ONLY public.customers ADD CONSTRAINT customers_pkey PRIMARY KEY (id);\n';

/** Writes rows until the file reaches `size` bytes (then finishes the row); returns its length. */
function writeSqlDump(file: string, r: Stream, size: number): number {
  const fd = openSync(file, 'w');
  let written = 0;
  const flush = (text: string): void => {
    const buf = Buffer.from(text, 'latin1');
    writeSync(fd, buf);
    written += buf.length;
  };
  try {
    flush(SQL_HEADER);
    let rows: string[] = [];
    let pending = 0;
    for (let id = 1; written + pending < size - SQL_FOOTER.length; id++) {
      const row = sqlRow(r, id);
      rows.push(row);
      pending += row.length;
      if (pending >= MiB) {
        flush(rows.join(''));
        rows = [];
        pending = 0;
      }
    }
    flush(rows.join('') + SQL_FOOTER);
  } finally {
    closeSync(fd);
  }
  return written;
}

/** Inserts rows at a seeded line boundary in the middle half of the dump, shifting the tail in place. */
function insertSqlRows(file: string, spec: CorpusSpec): void {
  const r = new Stream(spec.seed, 'mutation:sql');
  const fd = openSync(file, 'r+');
  try {
    const size = fstatSync(fd).size;
    let cut = Math.floor(size / 4) + r.below(Math.max(1, Math.floor(size / 2)));
    const probe = Buffer.alloc(64 * KiB);
    const n = readSync(fd, probe, 0, probe.length, cut);
    const nl = probe.subarray(0, n).indexOf(0x0a);
    cut = nl < 0 ? size : cut + nl + 1;
    // The tail is at most 3/4 of the file (~150 MB at size 1): read once, written back after the rows.
    const tail = Buffer.alloc(size - cut);
    for (let got = 0; got < tail.length;) got += readSync(fd, tail, got, tail.length - got, cut + got);
    let rows = '';
    for (let k = 0; k < spec.insertedRows; k++) rows += sqlRow(r, 1_000_000_000 + k);
    const inserted = Buffer.from(rows, 'latin1');
    writeSync(fd, inserted, 0, inserted.length, cut);
    writeSync(fd, tail, 0, tail.length, cut + inserted.length);
  } finally {
    closeSync(fd);
  }
}

const WORDS = (
  'the of and to in is for on with as by at from that this be are was it or an not but have can will all one ' +
  'config server backup restore snapshot bank chunk index plan checkpoint provider resource request response error ' +
  'timeout retry lease worker engine queue cache disk volume path file directory owner mode size hash digest key ' +
  'return const let function export import async await throw new class interface type null true false if else ' +
  'user admin project token session report invoice order customer payment amount total date time zone region ' +
  'note todo fixme meeting minutes agenda review release version build test deploy rollback monitor alert log'
).split(' ');

/** A text file of 6–16 KiB (11 KiB on average): lines of words, as notes, logs or source code. */
function smallText(r: Stream): string {
  const size = 6 * KiB + r.below(10 * KiB + 1);
  const parts: string[] = [];
  let length = 0;
  while (length < size) {
    const words = 4 + r.below(11);
    let line = r.below(4) === 0 ? '    ' : '';
    for (let w = 0; w < words; w++) line += (w ? ' ' : '') + WORDS[r.below(WORDS.length)];
    line += r.below(8) === 0 ? ` ${r.u32()}\n` : '\n';
    parts.push(line);
    length += line.length;
  }
  return parts.join('').slice(0, size);
}
