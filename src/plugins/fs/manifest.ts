/**
 * The on-bank format (v2) of an `fs.directory` checkpoint. Three objects per resource section:
 *
 *   data            a chunk list: every regular file's chunks, file after file, in manifest order (each
 *                   file starts a new chunk, so an unchanged file's chunks are reused as they are)
 *   manifest.jsonl  (chunked) one JSON object per line per entry (dir, file, symlink), in walk order
 *   meta.json       format/version, source path, sizes of `data` and `manifest.jsonl`, the manifest's
 *                   SHA-256 and a SHA-256 of its own body — written last: its presence marks a complete archive
 *
 * Paths and link targets are bytes on Linux: `path`/`link` hold them when they are valid UTF-8, else
 * `path_b64`/`link_b64` hold the raw bytes. The root directory itself is the entry ".".
 * File entries carry `offset` (must equal the sum of the sizes before it), `size`, `blake3` (of the
 * content), `chunks` ([first, count] in `data`) and `ino`/`ctime_ns`, which with size and mtime tell
 * the next protect that the file is unchanged and need not be read.
 */
import { createHash } from 'node:crypto';
import type { BankSection, ChunkRef } from '../api.js';
import { bwkError, isBulwarkError } from '../../core/errors.js';
import { readSealedMeta, sealMeta } from '../sealed-meta.js';
import type { BulwarkError } from '../../core/errors.js';

export const DATA_OBJECT = 'data';
export const MANIFEST_OBJECT = 'manifest.jsonl';
export const META_OBJECT = 'meta.json';
export const FORMAT_NAME = 'bulwark.fs.directory';
export const FORMAT_VERSION = 2;

/**
 * An archived entry, from a v2 manifest line or a v3 tree (tree.ts). `path` is relative (".", "a",
 * "a/b") as raw bytes. Only v3 has hard links, special files and extended attributes; v3 file
 * entries get `offset` and `chunks` derived from their place in the tree walk.
 */
export type Entry =
  | (EntryBase & { type: 'dir' })
  | (EntryBase & FileFields & { type: 'file' })
  | (EntryBase & { type: 'symlink'; link: Buffer })
  | (EntryBase & { type: 'hardlink'; target: Buffer })
  | (EntryBase & { type: SpecialType; rdev: [number, number] });

export type SpecialType = 'fifo' | 'char_device' | 'block_device' | 'socket';

/** An extended attribute: its full name (`user.note`, `security.capability`) and raw value. */
export type Xattr = [name: string, value: Buffer];

export interface FileFields {
  offset: number;
  size: number;
  blake3: string;
  /** First chunk in `data` and number of chunks. */
  chunks: [number, number];
  ino: bigint;
  ctimeNs: bigint;
}

export interface EntryBase {
  path: Buffer;
  /** Permission bits including setuid/setgid/sticky (mode & 0o7777). */
  mode: number;
  uid: number;
  gid: number;
  /** Modification time in nanoseconds since the epoch. */
  mtimeNs: bigint;
  /** Extended attributes (v3), sorted by name; absent or empty when there are none. */
  xattrs?: Xattr[];
}

export interface MetaBody {
  format: string;
  version: number;
  source: string;
  data: { object: string; size: number; chunks: number };
  manifest: { object: string; size: number; sha256: string; entries: number };
}

/** `fs.directory#/srv/www` — how every error names the resource. */
export const resourceLabel = (id: string): string => `fs.directory#${id}`;

export function corrupt(label: string, reason: string): BulwarkError {
  return bwkError('BWK_ERR_DATA_CORRUPT', { resource: label, reason });
}

/** A chunk that failed its check while a file was read, reported as that file's corruption. */
export function corruptInFile(label: string, path: Buffer, err: unknown): unknown {
  if (!isBulwarkError(err, 'BWK_ERR_DATA_CORRUPT')) return err;
  const reason = typeof err.details?.['reason'] === 'string' ? err.details['reason'] : err.message;
  if (reason.startsWith('file "')) return err;
  return corrupt(label, `file "${displayPath(path)}" cannot be read back: ${reason}`);
}

export const sha256Hex = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');

/**
 * Checks a file entry's chunk range against the `data` list: it must start where the previous file's
 * ended and its chunks must add up to its size, so reading `data` in order yields each file exactly.
 * Returns the index after the range, or a reason.
 */
export function checkFileChunks(e: FileFields, refs: readonly ChunkRef[], expectedFirst: number): number | string {
  const [first, count] = e.chunks;
  if (first !== expectedFirst) return `its chunks start at ${first} in ${DATA_OBJECT}, expected ${expectedFirst}`;
  if (first + count > refs.length) return `its chunks run past the end of ${DATA_OBJECT}`;
  let size = 0;
  for (let i = first; i < first + count; i++) size += refs[i]!.size;
  if (size !== e.size) return `its chunks hold ${size} bytes, its size is ${e.size}`;
  return first + count;
}

const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/** The text of a byte string when it is valid UTF-8 (and round-trips), else null. */
export function utf8OrNull(bytes: Buffer): string | null {
  try {
    const text = utf8Strict.decode(bytes);
    return Buffer.from(text, 'utf8').equals(bytes) ? text : null;
  } catch {
    return null;
  }
}

/** A path for messages: UTF-8 as is, other bytes as \xNN. */
export function displayPath(bytes: Buffer): string {
  const text = utf8OrNull(bytes);
  if (text !== null) return text;
  return [...bytes]
    .map((b) => (b >= 0x20 && b < 0x7f && b !== 0x5c ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`))
    .join('');
}

/** Bytes as text when they are UTF-8, else base64 under `<name>_b64` (names and links may be any bytes). */
export function bytesField(name: string, value: Buffer): Record<string, string> {
  const text = utf8OrNull(value);
  return text !== null ? { [name]: text } : { [`${name}_b64`]: value.toString('base64') };
}

/** One manifest line (with its trailing newline). */
export function encodeEntry(e: Entry): string {
  const base = { type: e.type, ...bytesField('path', e.path), mode: e.mode, uid: e.uid, gid: e.gid, mtime_ns: e.mtimeNs.toString() };
  const extra =
    e.type === 'file'
      ? { offset: e.offset, size: e.size, blake3: e.blake3, chunks: e.chunks, ino: e.ino.toString(), ctime_ns: e.ctimeNs.toString() }
      : e.type === 'symlink'
        ? bytesField('link', e.link)
        : {};
  return JSON.stringify({ ...base, ...extra }) + '\n';
}

export const isNat = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** The bytes `bytesField` wrote; a reason string when the field is missing, doubled or not canonical. */
export function decodeBytes(o: Record<string, unknown>, name: string): Buffer | string {
  const text = o[name];
  const b64 = o[`${name}_b64`];
  if (typeof text === 'string' && b64 === undefined) return Buffer.from(text, 'utf8');
  if (typeof b64 === 'string' && text === undefined) {
    const bytes = Buffer.from(b64, 'base64');
    return bytes.toString('base64') === b64 ? bytes : `"${name}_b64" is not canonical base64`;
  }
  return `needs exactly one of "${name}" or "${name}_b64"`;
}

/** Parses one manifest line; returns a reason string when it is malformed. */
export function decodeEntry(line: string): Entry | string {
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch {
    return 'not valid JSON';
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return 'not a JSON object';
  const r = o as Record<string, unknown>;
  const path = decodeBytes(r, 'path');
  if (typeof path === 'string') return path;
  if (!isNat(r.mode) || r.mode > 0o7777) return '"mode" must be an integer 0..07777';
  if (!isNat(r.uid) || !isNat(r.gid)) return '"uid" and "gid" must be non-negative integers';
  if (typeof r.mtime_ns !== 'string' || !/^-?\d{1,30}$/.test(r.mtime_ns)) return '"mtime_ns" must be a decimal string';
  const base: EntryBase = { path, mode: r.mode, uid: r.uid, gid: r.gid, mtimeNs: BigInt(r.mtime_ns) };
  switch (r.type) {
    case 'dir':
      return { ...base, type: 'dir' };
    case 'file':
      if (!isNat(r.offset) || !isNat(r.size)) return '"offset" and "size" must be non-negative integers';
      if (typeof r.blake3 !== 'string' || !/^[0-9a-f]{64}$/.test(r.blake3)) return '"blake3" must be 64 hex digits';
      if (!Array.isArray(r.chunks) || r.chunks.length !== 2 || !r.chunks.every(isNat)) return '"chunks" must be [first, count]';
      if (typeof r.ino !== 'string' || !/^\d{1,30}$/.test(r.ino) || typeof r.ctime_ns !== 'string' || !/^-?\d{1,30}$/.test(r.ctime_ns)) {
        return '"ino" and "ctime_ns" must be decimal strings';
      }
      return {
        ...base,
        type: 'file',
        offset: r.offset,
        size: r.size,
        blake3: r.blake3,
        chunks: [r.chunks[0], r.chunks[1]] as [number, number],
        ino: BigInt(r.ino),
        ctimeNs: BigInt(r.ctime_ns),
      };
    case 'symlink': {
      const link = decodeBytes(r, 'link');
      if (typeof link === 'string') return link;
      return { ...base, type: 'symlink', link };
    }
    default:
      return '"type" must be "dir", "file" or "symlink"';
  }
}

/** meta.json bytes: the body sealed with its own SHA-256. */
export const encodeMeta = (body: MetaBody): string => sealMeta(body);

/** Reads and checks meta.json: canonical JSON, self-hash, known format and version. */
export async function loadMeta(bank: BankSection, label: string): Promise<MetaBody> {
  const meta = (await readSealedMeta(bank, META_OBJECT, label, { name: FORMAT_NAME, version: FORMAT_VERSION })) as unknown as MetaBody;
  if (
    !isNat(meta.data?.size) ||
    !isNat(meta.data?.chunks) ||
    !isNat(meta.manifest?.size) ||
    !isNat(meta.manifest?.entries) ||
    typeof meta.manifest.sha256 !== 'string'
  ) {
    throw corrupt(label, `${META_OBJECT} lacks sizes or hashes of the data and manifest objects`);
  }
  return meta;
}

/** Lines longer than this cannot come from the writer (paths are < 4 KiB); refuse instead of buffering. */
const MAX_LINE = 256 * 1024;

/**
 * Streams the manifest entries with bounded memory, checking each line and, at the end, the
 * manifest's size and SHA-256 against meta (so a flipped byte anywhere is caught). Callers that must
 * not act on a corrupt manifest read it to the end once before acting.
 */
export async function* readManifest(bank: BankSection, meta: MetaBody, label: string): AsyncGenerator<Entry> {
  const stream = await bank.getStream(MANIFEST_OBJECT);
  const hash = createHash('sha256');
  let size = 0;
  let lineNo = 0;
  let count = 0;
  let rest: Buffer = Buffer.alloc(0);
  const decodeLine = (bytes: Buffer): Entry => {
    lineNo++;
    const text = utf8OrNull(bytes);
    const e = text === null ? 'not valid UTF-8' : decodeEntry(text);
    if (typeof e === 'string') throw corrupt(label, `${MANIFEST_OBJECT} line ${lineNo} is malformed: ${e}`);
    count++;
    return e;
  };
  try {
    for await (const chunk of stream as AsyncIterable<Buffer | string>) {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      hash.update(buf);
      size += buf.length;
      let data = rest.length ? Buffer.concat([rest, buf]) : buf;
      let nl: number;
      while ((nl = data.indexOf(0x0a)) >= 0) {
        yield decodeLine(data.subarray(0, nl));
        data = data.subarray(nl + 1);
      }
      if (data.length > MAX_LINE) throw corrupt(label, `${MANIFEST_OBJECT} line ${lineNo + 1} is longer than ${MAX_LINE} bytes`);
      rest = Buffer.from(data);
    }
  } finally {
    stream.destroy();
  }
  if (rest.length > 0) throw corrupt(label, `${MANIFEST_OBJECT} does not end with a newline (truncated)`);
  if (size !== meta.manifest.size || hash.digest('hex') !== meta.manifest.sha256) {
    throw corrupt(label, `${MANIFEST_OBJECT} does not match the size and SHA-256 recorded in ${META_OBJECT}`);
  }
  if (count !== meta.manifest.entries)
    throw corrupt(label, `${MANIFEST_OBJECT} has ${count} entries, ${META_OBJECT} says ${meta.manifest.entries}`);
}

/** The `data` chunk list, checked against meta.json's size and chunk count. */
export async function loadDataList(bank: BankSection, meta: MetaBody, label: string): Promise<ChunkRef[]> {
  if ((await bank.stat(DATA_OBJECT)) === null) throw corrupt(label, `${DATA_OBJECT} is missing`);
  const refs = await bank.getChunkList(DATA_OBJECT);
  const size = refs.reduce((n, r) => n + r.size, 0);
  if (size !== meta.data.size || refs.length !== meta.data.chunks) {
    throw corrupt(
      label,
      `${DATA_OBJECT} holds ${refs.length} chunks and ${size} bytes, meta.json says ${meta.data.chunks} and ${meta.data.size}`,
    );
  }
  return refs;
}
