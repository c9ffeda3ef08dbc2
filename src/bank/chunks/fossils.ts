/**
 * Fossils: packs GC found unused, whose index was moved to `chunks/fossils/<pack>` (with the pack's
 * index inside) while their bytes stay until no operation that might still count on them runs
 * (gc.ts). Readers and writers that meet a chunk only a fossil holds read it from there, and a writer
 * that committed a reference to one puts the fossil back.
 */
import type { BankPlugin } from '../port.js';
import { FOSSILS, fossilKey, packIndexKey, packKey } from '../layout.js';
import { isBulwarkError } from '../../core/errors.js';
import { encodePackIndex } from './pack-index.js';
import type { PackIndex } from './pack-index.js';

/**
 * What fossils need of the chunk store, declared here rather than imported: the store itself reads
 * and restores fossils, and the two modules must not depend on each other.
 */
export interface SealedObjects {
  readonly bank: BankPlugin;
  putSealed(key: string, data: Buffer): Promise<void>;
  getSealed(key: string): Promise<Buffer>;
}

export interface Fossil {
  pack: string;
  fossilized_at: string;
  /** Operations running when the pack became a fossil (lease owner and token). */
  waiting_for: { owner: string; token: string }[];
  index: PackIndex;
}

export async function readFossil(store: SealedObjects, pack: string): Promise<Fossil | null> {
  try {
    return JSON.parse((await store.getSealed(fossilKey(pack))).toString('utf8')) as Fossil;
  } catch (err) {
    if (isBulwarkError(err, 'BWK_ERR_BANK_OBJECT_NOT_FOUND')) return null;
    throw err;
  }
}

export async function writeFossil(store: SealedObjects, fossil: Fossil): Promise<void> {
  await store.putSealed(fossilKey(fossil.pack), Buffer.from(JSON.stringify(fossil)));
}

/** Every fossil in the bank. */
export async function listFossils(store: SealedObjects): Promise<Fossil[]> {
  const out: Fossil[] = [];
  for (const key of await store.bank.listObjects(FOSSILS)) {
    const f = await readFossil(store, key.slice(FOSSILS.length));
    if (f !== null) out.push(f);
  }
  return out;
}

/** Puts a fossil's index back (index first, then the fossil record goes): its chunks are live again. */
export async function restoreFossil(store: SealedObjects, fossil: Fossil): Promise<void> {
  await store.putSealed(packIndexKey(fossil.pack), encodePackIndex(fossil.index));
  await store.bank.deleteObject(fossilKey(fossil.pack));
}

/** Deletes a fossil for good: its pack's bytes first, then the record. Returns the bytes freed. */
export async function deleteFossil(store: SealedObjects, pack: string): Promise<number> {
  const size = (await store.bank.statObject(packKey(pack)))?.size ?? 0;
  await store.bank.deleteObject(packKey(pack));
  await store.bank.deleteObject(fossilKey(pack));
  return size;
}
