/**
 * The on-bank format of an `fs.directory` checkpoint. Three objects per resource section:
 *
 *   data            every regular file's content, back to back, in manifest order
 *   manifest.jsonl  one JSON object per line per entry (dir, file, symlink), in walk order (parents first)
 *   meta.json       format/version, source path, size + SHA-256 of `data` and `manifest.jsonl`, and a
 *                   SHA-256 of its own body — written last, so its presence marks a complete archive
 *
 * Paths and link targets are bytes on Linux: `path`/`link` hold them when they are valid UTF-8, else
 * `path_b64`/`link_b64` hold the raw bytes. The root directory itself is the entry ".".
 * File entries carry `offset` (must equal the sum of the sizes before it), `size` and `sha256`.
 */
import { createHash } from 'node:crypto';
import type { BankSection } from '../api.js';
import { bwkError } from '../../common/errors.js';
import { readSealedMeta, sealMeta } from '../sealed-meta.js';
import type { BulwarkError } from '../../common/errors.js';

export const DATA_OBJECT = 'data';
export const MANIFEST_OBJECT = 'manifest.jsonl';
export const META_OBJECT = 'meta.json';
export const FORMAT_NAME = 'bulwark.fs.directory';
export const FORMAT_VERSION = 1;

/** A manifest line decoded. `path` is relative (".", "a", "a/b") as raw bytes. */
export type Entry =
  | (EntryBase & { type: 'dir' })
  | (EntryBase & { type: 'file'; offset: number; size: number; sha256: string })
  | (EntryBase & { type: 'symlink'; link: Buffer });

export interface EntryBase {
  path: Buffer;
  /** Permission bits including setuid/setgid/sticky (mode & 0o7777). */
  mode: number;
  uid: number;
  gid: number;
  /** Modification time in nanoseconds since the epoch. */
  mtimeNs: bigint;
}

export interface MetaBody {
  format: string;
  version: number;
  source: string;
  data: { object: string; size: number; sha256: string };
  manifest: { object: string; size: number; sha256: string; entries: number };
}

/** `fs.directory#/srv/www` — how every error names the resource. */
export const resourceLabel = (id: string): string => `fs.directory#${id}`;

export function corrupt(label: string, reason: string): BulwarkError {
  return bwkError('BWK_ERR_DATA_CORRUPT', { resource: label, reason });
}

export const sha256Hex = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');

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
  return [...bytes].map((b) => (b >= 0x20 && b < 0x7f && b !== 0x5c ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`)).join('');
}

function bytesField(name: string, value: Buffer): Record<string, string> {
  const text = utf8OrNull(value);
  return text !== null ? { [name]: text } : { [`${name}_b64`]: value.toString('base64') };
}

/** One manifest line (with its trailing newline). */
export function encodeEntry(e: Entry): string {
  const base = { type: e.type, ...bytesField('path', e.path), mode: e.mode, uid: e.uid, gid: e.gid, mtime_ns: e.mtimeNs.toString() };
  const extra = e.type === 'file' ? { offset: e.offset, size: e.size, sha256: e.sha256 }
    : e.type === 'symlink' ? bytesField('link', e.link) : {};
  return JSON.stringify({ ...base, ...extra }) + '\n';
}

const isNat = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

function decodeBytes(o: Record<string, unknown>, name: string): Buffer | string {
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
      if (typeof r.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(r.sha256)) return '"sha256" must be 64 hex digits';
      return { ...base, type: 'file', offset: r.offset, size: r.size, sha256: r.sha256 };
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
  const meta = await readSealedMeta(bank, META_OBJECT, label, { name: FORMAT_NAME, version: FORMAT_VERSION }) as unknown as MetaBody;
  if (!isNat(meta.data?.size) || !isNat(meta.manifest?.size) || !isNat(meta.manifest?.entries)
    || typeof meta.data.sha256 !== 'string' || typeof meta.manifest.sha256 !== 'string') {
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
  if (count !== meta.manifest.entries) throw corrupt(label, `${MANIFEST_OBJECT} has ${count} entries, ${META_OBJECT} says ${meta.manifest.entries}`);
}
