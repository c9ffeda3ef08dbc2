/**
 * The v3 objects of an `fs.directory` checkpoint (docs/design/fs-format-v3.md): one tree per
 * directory, content-addressed (its id is the BLAKE3 of its canonical bytes), all of them stored as
 * lines `<id> <tree JSON>\n` of the chunked object `trees` (written children first), plus a sealed
 * meta.json naming the root tree. A tree entry holds its file's own chunk refs, so nothing in a tree
 * depends on where other files' data lies: an unchanged directory produces the same bytes, the same
 * id and the same chunks (deduplicated by the chunk store), and a change rewrites only the trees on
 * its path to the root.
 */
import { blake3Hex } from '../../common/hashers.js';
import type { ChunkRef } from '../api.js';
import { bytesField, decodeBytes, isNat } from './manifest.js';
import type { Entry, EntryBase, SpecialType, Xattr } from './manifest.js';

export const TREES_OBJECT = 'trees';
export const FORMAT_V3 = 3;

/** A tree id: BLAKE3 (hex) of the tree's JSON bytes. */
export const treeId = (json: Buffer): string => blake3Hex(json);

/** What a v3 tree entry holds beyond EntryBase: the fields of its type. */
export type TreeEntry =
  | (EntryBase & { name: Buffer; type: 'dir'; tree: string })
  | (EntryBase & {
      name: Buffer;
      type: 'file';
      size: number;
      blake3: string;
      refs: ChunkRef[];
      ino: bigint;
      ctimeNs: bigint;
    })
  | (EntryBase & { name: Buffer; type: 'symlink'; link: Buffer })
  | (EntryBase & { name: Buffer; type: 'hardlink'; target: Buffer })
  | (EntryBase & { name: Buffer; type: SpecialType; rdev: [number, number] });

export interface MetaV3 {
  format: string;
  version: number;
  source: string;
  /** The protected directory's own entry (no name), with the id of its tree. */
  root: Record<string, unknown>;
  trees: { object: string; size: number; count: number };
  totals: { files: number; bytes: number; entries: number; chunks: number };
  /** Entries not captured (unreadable, vanished) and entries captured without some of their attributes. */
  not_captured: number;
  /**
   * How extended attributes were read: the namespaces left out, and whether every entry's were read
   * in full. A later protect reuses an unchanged file's attributes (same ctime: setting one changes
   * it) only from a checkpoint read completely with the same options. Absent before 2026-12-07.
   */
  xattrs?: XattrsRead;
}

export interface XattrsRead {
  skip_namespaces: string[];
  complete: boolean;
}

/** Every key an entry object can have, sorted: entryObject copies its fields out in this order. */
const ENTRY_KEYS = [
  'blake3',
  'chunks',
  'ctime_ns',
  'gid',
  'ino',
  'link',
  'link_b64',
  'mode',
  'mtime_ns',
  'name',
  'name_b64',
  'rdev',
  'size',
  'target',
  'target_b64',
  'tree',
  'type',
  'uid',
  'xattrs',
].sort();

/**
 * `o` with its keys sorted. Copying by the fixed list costs a fraction of sorting each entry's keys
 * (two calls per file per protect); a key the list lacks falls back to the sort, so the bytes never
 * depend on which path was taken.
 */
function sortedKeys(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  let copied = 0;
  for (const k of ENTRY_KEYS) {
    if (k in o) {
      out[k] = o[k];
      copied++;
    }
  }
  return copied === Object.keys(o).length ? out : keySorted(Object.entries(o));
}

/** An object of `fields`, keys sorted: the canonical form, the long way (for keys in any order). */
export const keySorted = (fields: [string, unknown][]): Record<string, unknown> =>
  Object.fromEntries(fields.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

/** The JSON object of an entry, keys sorted (the canonical form trees are hashed in). */
export function entryObject(e: TreeEntry, named = true): Record<string, unknown> {
  const o: Record<string, unknown> = {
    ...(named ? bytesField('name', e.name) : {}),
    type: e.type,
    mode: e.mode,
    uid: e.uid,
    gid: e.gid,
    mtime_ns: e.mtimeNs.toString(),
  };
  if (e.xattrs !== undefined && e.xattrs.length > 0) o.xattrs = e.xattrs.map(([n, v]) => [n, v.toString('base64')]);
  switch (e.type) {
    case 'dir':
      o.tree = e.tree;
      break;
    case 'file':
      Object.assign(o, {
        size: e.size,
        blake3: e.blake3,
        chunks: e.refs.map((r) => [r.id, r.size]),
        ino: e.ino.toString(),
        ctime_ns: e.ctimeNs.toString(),
      });
      break;
    case 'symlink':
      Object.assign(o, bytesField('link', e.link));
      break;
    case 'hardlink':
      Object.assign(o, bytesField('target', e.target));
      break;
    default:
      o.rdev = e.rdev;
  }
  return sortedKeys(o);
}

/** A tree's canonical bytes: its entries, sorted by name bytes by the caller (the walk's order). */
export const encodeTree = (entries: Record<string, unknown>[]): Buffer => Buffer.from(JSON.stringify({ entries }), 'utf8');

const isDec = (v: unknown): v is string => typeof v === 'string' && /^-?\d{1,30}$/.test(v);
const HEX64 = /^[0-9a-f]{64}$/;
/** Linux limits: a name is at most 255 bytes, a value at most 64 KiB. */
const XATTR_NAME = /^(user|trusted|security|system)\.[^\0]{1,250}$/;
const MAX_XATTR_VALUE = 64 * 1024;

/** Why a single entry name is unsafe (a tree holds names, never paths), or null. */
export function nameProblem(name: Buffer): string | null {
  if (name.length === 0) return 'empty name';
  if (name.includes(0)) return 'name contains a NUL byte';
  if (name.includes(0x2f)) return 'name contains "/"';
  if (name.equals(Buffer.from('.')) || name.equals(Buffer.from('..'))) return `name is "${name.toString()}"`;
  return null;
}

function decodeXattrs(v: unknown): Xattr[] | string {
  if (v === undefined) return [];
  if (!Array.isArray(v)) return '"xattrs" must be a list';
  const out: Xattr[] = [];
  for (const x of v) {
    if (!Array.isArray(x) || x.length !== 2 || typeof x[0] !== 'string' || typeof x[1] !== 'string')
      return '"xattrs" items must be [name, base64]';
    if (!XATTR_NAME.test(x[0])) return `extended attribute name ${JSON.stringify(x[0])} is not valid`;
    const value = Buffer.from(x[1], 'base64');
    if (value.toString('base64') !== x[1] || value.length > MAX_XATTR_VALUE) return `extended attribute ${x[0]} has a bad value`;
    out.push([x[0], value]);
  }
  return out;
}

/** Decodes one entry object (of a tree, or meta's root with `named` false); a reason when malformed. */
export function decodeTreeEntry(r: Record<string, unknown>, named = true): TreeEntry | string {
  let name: Buffer = Buffer.from('.');
  if (named) {
    const n = decodeBytes(r, 'name');
    if (typeof n === 'string') return n;
    const problem = nameProblem(n);
    if (problem !== null) return problem;
    name = n;
  }
  if (!isNat(r.mode) || r.mode > 0o7777) return '"mode" must be an integer 0..07777';
  if (!isNat(r.uid) || !isNat(r.gid)) return '"uid" and "gid" must be non-negative integers';
  if (!isDec(r.mtime_ns)) return '"mtime_ns" must be a decimal string';
  const xattrs = decodeXattrs(r.xattrs);
  if (typeof xattrs === 'string') return xattrs;
  const base = { name, path: name, mode: r.mode, uid: r.uid, gid: r.gid, mtimeNs: BigInt(r.mtime_ns), xattrs };
  switch (r.type) {
    case 'dir':
      if (typeof r.tree !== 'string' || !HEX64.test(r.tree)) return '"tree" must be 64 hex digits';
      return { ...base, type: 'dir', tree: r.tree };
    case 'file': {
      if (!isNat(r.size)) return '"size" must be a non-negative integer';
      if (typeof r.blake3 !== 'string' || !HEX64.test(r.blake3)) return '"blake3" must be 64 hex digits';
      if (!isDec(r.ino) || !isDec(r.ctime_ns)) return '"ino" and "ctime_ns" must be decimal strings';
      if (!Array.isArray(r.chunks)) return '"chunks" must be a list of [id, size]';
      const refs: ChunkRef[] = [];
      for (const c of r.chunks as unknown[]) {
        if (!Array.isArray(c) || c.length !== 2 || typeof c[0] !== 'string' || !/^[0-9a-f]{16,128}$/.test(c[0]) || !isNat(c[1])) {
          return '"chunks" must be a list of [id, size]';
        }
        refs.push({ id: c[0], size: c[1] });
      }
      if (refs.reduce((n, c) => n + c.size, 0) !== r.size) return `its chunks do not add up to its size ${r.size}`;
      return { ...base, type: 'file', size: r.size, blake3: r.blake3, refs, ino: BigInt(r.ino), ctimeNs: BigInt(r.ctime_ns) };
    }
    case 'symlink': {
      const link = decodeBytes(r, 'link');
      return typeof link === 'string' ? link : { ...base, type: 'symlink', link };
    }
    case 'hardlink': {
      const target = decodeBytes(r, 'target');
      return typeof target === 'string' ? target : { ...base, type: 'hardlink', target };
    }
    case 'fifo':
    case 'char_device':
    case 'block_device':
    case 'socket':
      if (!Array.isArray(r.rdev) || r.rdev.length !== 2 || !r.rdev.every(isNat)) return '"rdev" must be [major, minor]';
      return { ...base, type: r.type, rdev: [r.rdev[0], r.rdev[1]] as [number, number] };
    default:
      return '"type" is not a known entry type';
  }
}

/** A decoded tree entry placed at `path`: the Entry the restore and verify passes work on. */
export function placedEntry(e: TreeEntry, path: Buffer, offset: number, firstChunk: number): Entry {
  const { name: _name, ...rest } = e;
  void _name;
  if (rest.type === 'file') {
    const { refs, ...file } = rest;
    return { ...file, path, offset, chunks: [firstChunk, refs.length] };
  }
  if (rest.type === 'dir') {
    const { tree: _tree, ...dir } = rest;
    void _tree;
    return { ...dir, path };
  }
  return { ...rest, path } as Entry;
}
