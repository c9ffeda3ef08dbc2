/**
 * A chunk list object: what a section stores under a name written with `putStream` or a
 * ChunkedWriter: the chunk ids and sizes, in order. Its first line marks it, so GC and bank check
 * can find every chunk reference in the bank without knowing any plugin's format.
 *
 * A long list (a directory of many files) is itself stored as chunks, and the object holds only
 * the list's own chunk refs (`BWKCL2`): an unchanged directory then costs a few bytes per
 * checkpoint instead of ~80 bytes per chunk, since its list deduplicates like any data.
 */
import type { ChunkRef } from '../../plugins/api.js';

const MAGIC = 'BWKCL1\n';
const MAGIC_BYTES = Buffer.from(MAGIC);

export interface ChunkList {
  size: number;
  chunks: ChunkRef[];
}

export function encodeChunkList(chunks: readonly ChunkRef[]): Buffer {
  const size = chunks.reduce((n, c) => n + c.size, 0);
  return Buffer.from(MAGIC + JSON.stringify({ size, chunks: chunks.map((c) => [c.id, c.size]) }), 'utf8');
}

const INDIRECT_MAGIC = Buffer.from('BWKCL2\n');

/** Lists longer than this are stored as chunks themselves. */
export const INDIRECT_ABOVE = 64 * 1024;

export const isChunkList = (data: Buffer): boolean => data.subarray(0, MAGIC_BYTES.length).equals(MAGIC_BYTES) || isIndirectList(data);
export const isIndirectList = (data: Buffer): boolean => data.subarray(0, INDIRECT_MAGIC.length).equals(INDIRECT_MAGIC);

export interface IndirectList {
  /** Logical size of the data the list describes, and its chunk count. */
  size: number;
  count: number;
  /** Chunks holding the encoded direct list. */
  list: ChunkRef[];
}

export function encodeIndirectList(l: IndirectList): Buffer {
  return Buffer.concat([
    INDIRECT_MAGIC,
    Buffer.from(JSON.stringify({ size: l.size, count: l.count, list: l.list.map((c) => [c.id, c.size]) })),
  ]);
}

/** The stored `[id, size]` pairs as refs, or null when one is malformed. */
function refsOf(entries: unknown[]): ChunkRef[] | null {
  const refs: ChunkRef[] = [];
  for (const c of entries) {
    if (!Array.isArray(c) || typeof c[0] !== 'string' || !/^[0-9a-f]{64}$/.test(c[0]) || !Number.isSafeInteger(c[1]) || c[1] < 0)
      return null;
    refs.push({ id: c[0], size: c[1] as number });
  }
  return refs;
}

export function decodeIndirectList(data: Buffer): IndirectList | string {
  let o: { size?: unknown; count?: unknown; list?: unknown };
  try {
    o = JSON.parse(data.subarray(INDIRECT_MAGIC.length).toString('utf8')) as typeof o;
  } catch {
    return 'indirect chunk list is not valid JSON';
  }
  if (!Number.isSafeInteger(o?.size) || !Number.isSafeInteger(o.count) || !Array.isArray(o.list))
    return 'indirect chunk list lacks size, count or list';
  const list = refsOf(o.list as unknown[]);
  if (list === null) return 'indirect chunk list has a malformed entry';
  return { size: o.size as number, count: o.count as number, list };
}

/** Parses a chunk list; returns a reason string when it is malformed. */
export function decodeChunkList(data: Buffer): ChunkList | string {
  if (!data.subarray(0, MAGIC_BYTES.length).equals(MAGIC_BYTES)) return 'not a (direct) chunk list';
  let o: unknown;
  try {
    o = JSON.parse(data.subarray(MAGIC_BYTES.length).toString('utf8'));
  } catch {
    return 'chunk list is not valid JSON';
  }
  const r = o as { size?: unknown; chunks?: unknown };
  if (!Number.isSafeInteger(r?.size) || !Array.isArray(r.chunks)) return 'chunk list lacks size or chunks';
  const chunks = refsOf(r.chunks as unknown[]);
  if (chunks === null) return 'chunk list has a malformed entry';
  const total = chunks.reduce((n, c) => n + c.size, 0);
  if (total !== r.size) return 'chunk list sizes do not add up';
  return { size: total, chunks };
}
