/**
 * Moves a checkpoint's stored objects into another bank's chunk store: what `checkpoint copy` and
 * `checkpoint import` share. Chunks keep their boundaries (plugins address chunks by position in a
 * list, fs.directory's manifest among them) but get the target bank's ids and encryption, so two banks
 * with different keys work. Every write is skipped when the target already holds it, which is what
 * makes a transfer cut midway resumable without sending again what arrived.
 */
import type { ChunkRef } from '../plugins/api.js';
import { FOSSILS, PACKS, PACK_INDEXES, checkpointIndexKey, checkpointPrefix, packKey } from './layout.js';
import { isChunkList } from './chunks/chunk-list.js';
import type { ChunkStore } from './chunks/store.js';
import { corruptError } from './chunks/store.js';

export interface TransferStats {
  /** Objects written (records of resources, chunk lists, saved info). */
  objects: number;
  /** Objects the target already held from an earlier, interrupted run. */
  objects_skipped: number;
  /** Chunks the transferred lists reference, and those the target lacked and got. */
  chunks: number;
  chunks_stored: number;
  /** Plaintext bytes of the chunks stored (what the transfer cost the target, before compression). */
  bytes_stored: number;
}

/** The pack-name tag of the transfer that writes checkpoint `id` (PackSink.tag). */
export const transferTag = (id: string): string => `x${id.replace(/-/g, '').slice(0, 16)}`;

/**
 * Deletes the packs a killed run of the transfer tagged `tag` stored but never indexed: nothing can
 * reference them, and the caller holds the transfer's lease, so no live writer of that tag remains.
 */
export async function removeOrphanPacks(store: ChunkStore, tag: string): Promise<number> {
  const names = async (prefix: string): Promise<string[]> => (await store.bank.listObjects(prefix)).map((k) => k.slice(prefix.length));
  const ours = (await names(PACKS)).filter((p) => p.slice(p.indexOf('-') + 1).startsWith(tag));
  if (ours.length === 0) return 0;
  const kept = new Set([...(await names(PACK_INDEXES)), ...(await names(FOSSILS))]);
  const orphans = ours.filter((p) => !kept.has(p));
  for (const pack of orphans) await store.bank.deleteObject(packKey(pack));
  return orphans.length;
}

export const emptyStats = (): TransferStats => ({ objects: 0, objects_skipped: 0, chunks: 0, chunks_stored: 0, bytes_stored: 0 });

/** Where chunk plaintext comes from: each yielded buffer is one ref's data, checked against its source. */
export type ChunkReader = (refs: readonly ChunkRef[]) => AsyncIterable<Buffer>;

/**
 * Stores the chunks `refs` names (read through `read`) in `target`, one for one, and returns their refs
 * in the target. With `sameIds` (the two stores derive ids alike) chunks the target holds are not read
 * at all; otherwise every chunk is read to learn its target id, and only missing ones are written.
 * Every chunk written is read back from the target and checked before the list is trusted.
 */
export async function storeChunks(
  target: ChunkStore,
  refs: readonly ChunkRef[],
  read: ChunkReader,
  sameIds: boolean,
  label: string,
  stats: TransferStats,
  tag?: string,
): Promise<ChunkRef[]> {
  const writer = await target.writer(undefined, tag);
  const index = await target.index();
  const copyAll = async (part: readonly ChunkRef[]): Promise<void> => {
    let n = 0;
    for await (const data of read(part)) {
      if (data.length !== part[n]?.size) throw corruptError(label, `chunk ${part[n]?.id ?? n} came with ${data.length} bytes`);
      await writer.writeChunk(data);
      n++;
    }
    if (n !== part.length) throw corruptError(label, `${part.length - n} chunk(s) never arrived`);
  };
  if (!sameIds) await copyAll(refs);
  else {
    for (let i = 0; i < refs.length;) {
      if (index.has(refs[i]!.id)) {
        writer.append([refs[i]!]);
        i++;
        continue;
      }
      let j = i;
      while (j < refs.length && !index.has(refs[j]!.id)) j++;
      await copyAll(refs.slice(i, j));
      i = j;
    }
  }
  const out = await writer.finish();
  if (out.length !== refs.length || out.some((r, n) => r.size !== refs[n]!.size || (sameIds && r.id !== refs[n]!.id)))
    throw corruptError(label, 'the stored list does not match its source');
  await target.ensureLive(out, label);
  const fresh = [...new Map(out.filter((r) => writer.stored.has(r.id)).map((r) => [r.id, r])).values()];
  // Verified on arrival: read back from the target, decrypted and checked against the id.
  for await (const _ of target.read(fresh, label)) void _;
  stats.chunks += out.length;
  stats.chunks_stored += fresh.length;
  stats.bytes_stored += fresh.reduce((n, r) => n + r.size, 0);
  return out;
}

/**
 * Writes one checkpoint object's plaintext under `key` of `target`: a chunk list gets its chunks
 * first (through `read`), then the list; anything else is sealed as it is.
 */
export async function storeObject(
  target: ChunkStore,
  key: string,
  plain: Buffer,
  resolve: (plain: Buffer) => Promise<ChunkRef[]>,
  read: ChunkReader,
  sameIds: boolean,
  label: string,
  stats: TransferStats,
  tag?: string,
): Promise<void> {
  if (isChunkList(plain)) {
    const refs = await storeChunks(target, await resolve(plain), read, sameIds, label, stats, tag);
    await target.putList(key, refs, label);
  } else {
    await target.putSealed(key, plain);
  }
  stats.objects++;
}

/**
 * Copies every object of checkpoint `sourceId` but its record into `targetId` of another store. An
 * object the target already holds is skipped: writes are atomic, so it arrived whole.
 */
export async function copyCheckpointObjects(
  source: ChunkStore,
  sourceId: string,
  target: ChunkStore,
  targetId: string,
  label: string,
  signal?: AbortSignal,
): Promise<TransferStats> {
  const stats = emptyStats();
  const from = checkpointPrefix(sourceId);
  const to = checkpointPrefix(targetId);
  const record = checkpointIndexKey(sourceId);
  const sameIds = await source.sameChunkIds(target);
  const resolve = async (plain: Buffer): Promise<ChunkRef[]> => (await source.resolveList(plain, label, 'a chunk list')).chunks;
  const read: ChunkReader = (refs) => source.read(refs, label, signal);
  for (const key of await source.bank.listObjects(from)) {
    if (key === record) continue;
    signal?.throwIfAborted();
    const dest = to + key.slice(from.length);
    if ((await target.bank.statObject(dest)) !== null) {
      stats.objects_skipped++;
      continue;
    }
    await storeObject(target, dest, await source.getSealed(key), resolve, read, sameIds, label, stats, transferTag(targetId));
  }
  return stats;
}
