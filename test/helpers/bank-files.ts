/**
 * Reaching into a bank the way bit rot or an attacker with write access would: finding a stored
 * object's chunks in their packs, flipping a byte there, or rewriting an fs.directory checkpoint's root tree with
 * correct hashes. Works on a live BankPlugin (MemoryBank, FsBank), on a ChunkStore (which also
 * opens sealed objects of an encrypted bank), or on the directory of an fs bank.
 */
import { readdirSync } from 'node:fs';
import { open as openFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { FsBank } from '../../src/bank/adapters/fs.js';
import type { BankPlugin } from '../../src/bank/port.js';
import { PACK_INDEXES, packIndexKey, packKey, resourcePrefix } from '../../src/bank/layout.js';
import { ChunkStore } from '../../src/bank/chunks/store.js';
import type { ChunkStoreSpec } from '../../src/bank/chunks/config.js';
import { decodeChunkList, decodeIndirectList, isIndirectList } from '../../src/bank/chunks/chunk-list.js';
import type { ChunkList } from '../../src/bank/chunks/chunk-list.js';
import { isSealedObject, openChunk } from '../../src/bank/chunks/codec.js';
import { decodePackIndex } from '../../src/bank/chunks/pack-index.js';
import { PrefixedBankSection } from '../../src/bank/section.js';
import type { BankSection, ChunkRef } from '../../src/plugins/api.js';
import { blake3 } from '@napi-rs/blake-hash';
import { sealMeta } from '../../src/plugins/sealed-meta.js';

/** A bank as tests hold it: an adapter, a chunk store over one, or the root directory of an fs bank. */
export type BankTarget = BankPlugin | ChunkStore | string;

/** The bank of a Bulwark home (the default provider's fs bank). */
export const homeBank = (home: string): string => join(home, 'bank');

/** The key of the only resource directory in a checkpoint (`resources/<key>`): there is one resource per test checkpoint. */
function onlyResourceKey(bankDir: string, checkpointId: string): string {
  const dir = join(bankDir, 'checkpoints', checkpointId, 'resources');
  const [only] = readdirSync(dir);
  if (!only) throw new Error(`no resource data under ${dir}`);
  return only;
}

/** The bank key prefix of that section (`checkpoints/<id>/resources/<key>/`). */
export function resourceSectionPrefix(home: string, checkpointId: string): string {
  return resourcePrefix(checkpointId, onlyResourceKey(homeBank(home), checkpointId));
}

interface Opened {
  bank: BankPlugin;
  /** An object's plaintext (opens sealed objects when a chunk store with the key is given). */
  plain(key: string): Promise<Buffer>;
  /**
   * XORs one stored byte of an object with `mask`. On an fs bank the file is changed in place, as bit
   * rot would: a process holding the pack open (the fs bank keeps pack handles) sees the change too.
   */
  flip(key: string, at: number, mask: number): Promise<void>;
}

function open(target: BankTarget): Opened {
  const store = target instanceof ChunkStore ? target : null;
  const bank = store !== null ? store.bank : typeof target === 'string' ? new FsBank(target) : (target as BankPlugin);
  const root = bank instanceof FsBank ? bank.rootDir : null;
  return {
    bank,
    plain: async (key) => {
      if (store !== null) return store.getSealed(key);
      const raw = await bank.getObject(key);
      if (isSealedObject(raw)) throw new Error(`${key} is sealed (encrypted bank): pass the bank's ChunkStore to reach it`);
      return raw;
    },
    flip: async (key, at, mask) => {
      if (root === null) {
        const bytes = await bank.getObject(key);
        bytes[at] = bytes[at]! ^ mask;
        return bank.putObject(key, bytes);
      }
      const fh = await openFile(join(root, ...key.split('/')), 'r+');
      try {
        const one = Buffer.alloc(1);
        if ((await fh.read(one, 0, 1, at)).bytesRead !== 1) throw new Error(`${key} has no byte ${at}`);
        one[0] = one[0]! ^ mask;
        await fh.write(one, 0, 1, at);
      } finally {
        await fh.close();
      }
    },
  };
}

type PackLocation = { pack: string; offset: number; length: number };

/** Every chunk the pack indexes list, by id, with every pack holding it (normally one). */
async function packLocations(o: Opened): Promise<Map<string, PackLocation[]>> {
  const out = new Map<string, PackLocation[]>();
  for (const key of await o.bank.listObjects(PACK_INDEXES)) {
    const pack = key.slice(PACK_INDEXES.length);
    const parsed = decodePackIndex(await o.plain(packIndexKey(pack)), pack);
    if (typeof parsed === 'string') throw new Error(`${key}: ${parsed}`);
    for (const [id, offset, length] of parsed.chunks) out.set(id, [...(out.get(id) ?? []), { pack, offset, length }]);
  }
  return out;
}

/** One chunk's plaintext, checked against its id (through the store when given one, else on an unencrypted bank). */
async function readChunk(target: BankTarget, o: Opened, ref: ChunkRef, locations: Map<string, PackLocation[]>): Promise<Buffer> {
  if (target instanceof ChunkStore) return target.readChunk(ref, 'test');
  const [loc] = locations.get(ref.id) ?? [];
  if (loc === undefined) throw new Error(`chunk ${ref.id} is in no pack index`);
  return openChunk(await o.bank.getObjectRange(packKey(loc.pack), loc.offset, loc.length), ref.id, { idKey: null, encKey: null });
}

/**
 * The chunk list of `prefix + name` (an object written with putStream or a ChunkedWriter); a long
 * list stored as chunks itself (an indirect list) is read through.
 */
export async function chunkListOf(target: BankTarget, prefix: string, name: string): Promise<ChunkList> {
  const o = open(target);
  let raw = await o.plain(prefix + name);
  if (isIndirectList(raw)) {
    const indirect = decodeIndirectList(raw);
    if (typeof indirect === 'string') throw new Error(`${prefix}${name}: ${indirect}`);
    const locations = await packLocations(o);
    const parts: Buffer[] = [];
    for (const ref of indirect.list) parts.push(await readChunk(target, o, ref, locations));
    raw = Buffer.concat(parts);
  }
  const list = decodeChunkList(raw);
  if (typeof list === 'string') throw new Error(`${prefix}${name}: ${list}`);
  return list;
}

/** Where one chunk of a stored object lives. */
export interface ChunkSpot {
  /** The chunk's position in the object's chunk list. */
  index: number;
  id: string;
  /** Plaintext bytes of the chunk, and where they start in the object. */
  size: number;
  start: number;
  /** Every pack holding it (normally one), with the stored blob's range. */
  packs: PackLocation[];
}

/**
 * Finds the chunk holding plaintext byte `at` (default: the middle) of the object `prefix + name`
 * (written with putStream or a ChunkedWriter), and where its stored bytes lie, via the pack indexes.
 */
export async function locateChunk(target: BankTarget, prefix: string, name: string, at?: number): Promise<ChunkSpot> {
  const o = open(target);
  const list = await chunkListOf(target, prefix, name);
  const pos = at ?? Math.floor(list.size / 2);
  if (pos < 0 || pos >= list.size) throw new Error(`${prefix}${name} holds ${list.size} bytes: no byte ${pos}`);
  let start = 0;
  let index = 0;
  while (start + list.chunks[index]!.size <= pos) start += list.chunks[index++]!.size;
  const { id, size } = list.chunks[index]!;
  const packs = (await packLocations(o)).get(id) ?? [];
  if (packs.length === 0) throw new Error(`chunk ${id} of ${prefix}${name} is in no pack index`);
  return { index, id, size, start, packs };
}

/**
 * The plaintext of every chunk in the bank (each checked against its id), pack by pack: what a search
 * of the bank's files for a secret must look at now that stored chunks are compressed. Unencrypted
 * banks only (an encrypted bank's chunks say nothing without the key).
 */
export async function* chunkPlaintexts(target: BankPlugin | string): AsyncGenerator<{ pack: string; id: string; data: Buffer }> {
  const { bank, plain } = open(target);
  for (const key of await bank.listObjects(PACK_INDEXES)) {
    const pack = key.slice(PACK_INDEXES.length);
    const parsed = decodePackIndex(await plain(key), pack);
    if (typeof parsed === 'string') throw new Error(`${key}: ${parsed}`);
    const bytes = await bank.getObject(packKey(pack));
    for (const [id, offset, length] of parsed.chunks) {
      yield { pack, id, data: openChunk(bytes.subarray(offset, offset + length), id, { idKey: null, encKey: null }) };
    }
  }
}

/**
 * Flips one stored byte of the chunk holding plaintext byte `at` of `prefix + name` (what bit rot or
 * tampering does), in every pack that holds it, in place on an fs bank. The byte is in the middle of
 * the stored blob, past the flags byte: it hits the payload (compressed or not), or on an encrypted
 * bank the ciphertext. Flipping it again with the same mask undoes it. Returns the chunk it changed.
 */
export async function flipChunkByte(target: BankTarget, prefix: string, name: string, at?: number, mask = 0xff): Promise<ChunkSpot> {
  const o = open(target);
  const spot = await locateChunk(target, prefix, name, at);
  for (const loc of spot.packs) await o.flip(packKey(loc.pack), loc.offset + Math.max(1, Math.floor(loc.length / 2)), mask);
  return spot;
}

/**
 * Rewrites a section object through the section API with one plaintext byte changed (at `at`, default
 * the middle): well-formed in the bank, every chunk checks out, only the plugin's own hashes (or
 * meta.json's seal) can tell. A chunked object stays chunked, a whole one stays whole.
 */
export async function flipPlainByte(section: BankSection, name: string, at?: number, mask = 0xff): Promise<Buffer> {
  const chunked = await section.getChunkList(name).then(
    () => true,
    () => false,
  );
  const bytes = await section.get(name);
  const i = at ?? Math.floor(bytes.length / 2);
  bytes[i] = bytes[i]! ^ mask;
  if (chunked) await section.putStream(name, Readable.from([bytes]));
  else await section.put(name, bytes);
  return bytes;
}

/**
 * A section of a bank that is not otherwise open in this process (an fs bank a CLI wrote), through
 * the real section API; `close()` stops the chunk store's workers.
 */
export function openSection(
  target: BankPlugin | string,
  prefix: string,
  label: string,
  spec: ChunkStoreSpec = {},
): { section: BankSection; store: ChunkStore; close(): Promise<void> } {
  const bank = typeof target === 'string' ? new FsBank(target) : target;
  const store = new ChunkStore(bank, { workers: 1, ...spec }, 'test');
  return { section: new PrefixedBankSection(store, prefix, label), store, close: () => store.close() };
}

/**
 * Adds a crafted entry to the root tree of a home's fs.directory checkpoint (format 3) and re-derives
 * the root tree's id and meta.json (counts, seal) as an attacker with write access to the bank would,
 * through the real section API: the archive is well-formed, only the restore's own checks can stop it.
 */
export async function addRootTreeEntry(home: string, checkpointId: string, entry: Record<string, unknown>): Promise<void> {
  const { section, close } = openSection(homeBank(home), resourceSectionPrefix(home, checkpointId), 'fs.directory#crafted');
  try {
    await addRootTreeEntryIn(section, entry);
  } finally {
    await close();
  }
}

/** addRootTreeEntry on a section at hand. */
export async function addRootTreeEntryIn(section: BankSection, entry: Record<string, unknown>): Promise<void> {
  const { meta_sha256: _seal, ...meta } = JSON.parse((await section.get('meta.json')).toString('utf8')) as Record<string, unknown>;
  void _seal;
  const root = meta['root'] as unknown as { tree: string };
  const lines = (await section.get('trees')).toString('utf8').trim().split('\n');
  const at = lines.findIndex((l) => l.startsWith(`${root.tree} `));
  const tree = JSON.parse(lines[at]!.slice(65)) as { entries: Record<string, unknown>[] };
  tree.entries.push(entry);
  tree.entries.sort((a, b) => Buffer.compare(Buffer.from(String(a['name'])), Buffer.from(String(b['name']))));
  const json = JSON.stringify(tree);
  root.tree = blake3(Buffer.from(json)).toString('hex');
  lines[at] = `${root.tree} ${json}`;
  const body = Buffer.from(lines.map((l) => `${l}\n`).join(''));
  await section.putStream('trees', Readable.from([body]));
  const totals = meta['totals'] as unknown as { entries: number };
  await section.put(
    'meta.json',
    sealMeta({
      ...meta,
      root,
      trees: { object: 'trees', size: body.length, count: lines.length },
      totals: { ...totals, entries: totals.entries + 1 },
    }),
  );
}
