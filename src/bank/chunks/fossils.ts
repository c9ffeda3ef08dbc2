/**
 * Fossils: packs GC found unused, whose index was moved to `chunks/fossils/<pack>` (with the pack's
 * index inside) while their bytes stay until no operation that might still count on them runs
 * (gc.ts). Readers and writers that meet a chunk only a fossil holds read it from there, and a writer
 * that committed a reference to one puts the fossil back.
 */
import { FOSSILS, fossilKey, packIndexKey, packKey } from '../layout.js';
import { isBulwarkError } from '../../core/errors.js';
import { encodePackIndex } from './pack-index.js';
import type { PackIndex } from './pack-index.js';
import type { ChunkStore } from './store.js';

export interface Fossil {
  pack: string;
  fossilized_at: string;
  /** Operations running when the pack became a fossil (lease owner and token). */
  waiting_for: { owner: string; token: string }[];
  index: PackIndex;
}

export async function readFossil(store: ChunkStore, pack: string): Promise<Fossil | null> {
  const key = fossilKey(pack);
  try {
    return JSON.parse((await store.decodeObject(key, await store.bank.getObject(key))).toString('utf8')) as Fossil;
  } catch (err) {
    if (isBulwarkError(err, 'BWK_ERR_BANK_OBJECT_NOT_FOUND')) return null;
    throw err;
  }
}

export async function writeFossil(store: ChunkStore, fossil: Fossil): Promise<void> {
  const key = fossilKey(fossil.pack);
  await store.bank.putObject(key, await store.encodeObject(key, Buffer.from(JSON.stringify(fossil))));
}

/** Every fossil in the bank. */
export async function listFossils(store: ChunkStore): Promise<Fossil[]> {
  const out: Fossil[] = [];
  for (const key of await store.bank.listObjects(FOSSILS)) {
    const f = await readFossil(store, key.slice(FOSSILS.length));
    if (f !== null) out.push(f);
  }
  return out;
}

/** Puts a fossil's index back (index first, then the fossil record goes): its chunks are live again. */
export async function restoreFossil(store: ChunkStore, fossil: Fossil): Promise<void> {
  const key = packIndexKey(fossil.pack);
  await store.bank.putObject(key, await store.encodeObject(key, encodePackIndex(fossil.index)));
  await store.bank.deleteObject(fossilKey(fossil.pack));
}

/** Deletes a fossil for good: its pack's bytes first, then the record. Returns the bytes freed. */
export async function deleteFossil(store: ChunkStore, pack: string): Promise<number> {
  const size = (await store.bank.statObject(packKey(pack)))?.size ?? 0;
  await store.bank.deleteObject(packKey(pack));
  await store.bank.deleteObject(fossilKey(pack));
  return size;
}
