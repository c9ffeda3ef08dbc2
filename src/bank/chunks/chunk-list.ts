/**
 * A chunk list object: what a section stores under a name written with `putStream` (or
 * `putChunkList`): the chunk ids and sizes, in order. Its first line marks it, so GC and bank check
 * can find every chunk reference in the bank without knowing any plugin's format.
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

export const isChunkList = (data: Buffer): boolean => data.subarray(0, MAGIC_BYTES.length).equals(MAGIC_BYTES);

/** Parses a chunk list; returns a reason string when it is malformed. */
export function decodeChunkList(data: Buffer): ChunkList | string {
  if (!isChunkList(data)) return 'not a chunk list';
  let o: unknown;
  try {
    o = JSON.parse(data.subarray(MAGIC_BYTES.length).toString('utf8'));
  } catch {
    return 'chunk list is not valid JSON';
  }
  const r = o as { size?: unknown; chunks?: unknown };
  if (!Number.isSafeInteger(r?.size) || !Array.isArray(r.chunks)) return 'chunk list lacks size or chunks';
  const chunks: ChunkRef[] = [];
  let total = 0;
  for (const c of r.chunks as unknown[]) {
    if (!Array.isArray(c) || typeof c[0] !== 'string' || !/^[0-9a-f]{64}$/.test(c[0]) || !Number.isSafeInteger(c[1]) || (c[1] as number) < 0) {
      return 'chunk list has a malformed entry';
    }
    chunks.push({ id: c[0], size: c[1] as number });
    total += c[1] as number;
  }
  if (total !== r.size) return 'chunk list sizes do not add up';
  return { size: total, chunks };
}
