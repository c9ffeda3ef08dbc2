/**
 * Reading a checkpoint of either format the plugin ever wrote: v2 (one manifest and a `data` chunk
 * list, manifest.ts) or v3 (trees, tree.ts), chosen by meta.json's `version`. Both give restore,
 * verify and change detection the same view: the entries in walk order and every file's chunks in
 * that order, each file entry naming its offset and chunk range in that list (stored in v2, derived
 * from the trees in v3).
 *
 * Opening a v3 archive reads every tree and checks it against its id (children first is how they
 * are stored; the walk from the root checks each one as it is reached), so a tampered or missing
 * tree is reported by the directory's path before anything acts on the archive.
 */
import type { BankSection, ChunkRef } from '../api.js';
import { readSealedMeta } from '../sealed-meta.js';
import { DATA_OBJECT, FORMAT_NAME, META_OBJECT, corrupt, displayPath, loadDataList, loadMeta, readManifest } from './manifest.js';
import type { Entry } from './manifest.js';
import { FORMAT_V3, TREES_OBJECT, decodeTreeEntry, placedEntry } from './tree.js';
import type { MetaV3, TreeEntry, XattrsRead } from './tree.js';
import { TreeCollector, type TreeSource } from './tree-source.js';
import { TreePaths, readTree } from './tree-read.js';

export interface Archive {
  version: 2 | 3;
  source: string;
  /** Bytes of all files' data (each hard-linked file once). */
  dataSize: number;
  /** Every file's chunks, in entry order. */
  refs: ChunkRef[];
  /** The entries in walk order (parents first); may be iterated several times. */
  entries(signal?: AbortSignal): AsyncIterable<Entry>;
  /** How the protect read extended attributes (v3 written from 2026-12-07 on), else null. */
  xattrsRead: XattrsRead | null;
  /** Frees what the archive holds outside memory (a large archive's trees spill to a temp file). */
  close(): void;
}

/** Peeks at meta.json's version (its seal and fields are checked by the version's own loader). */
async function metaVersion(bank: BankSection): Promise<unknown> {
  if ((await bank.stat(META_OBJECT)) === null) return undefined;
  try {
    return (JSON.parse((await bank.get(META_OBJECT)).toString('utf8')) as { version?: unknown }).version;
  } catch {
    return undefined;
  }
}

/**
 * `visit`, when given, sees every entry in walk order before this resolves: for a v3 archive during
 * the walk that checks the trees anyway, so a caller that wants every entry once (change detection)
 * does not decode every tree a second time.
 */
export async function openArchive(bank: BankSection, label: string, signal?: AbortSignal, visit?: (e: Entry) => void): Promise<Archive> {
  if ((await metaVersion(bank)) === FORMAT_V3) return openV3(bank, label, signal, visit);
  const meta = await loadMeta(bank, label);
  const refs = await loadDataList(bank, meta, label);
  if (visit !== undefined) for await (const e of readManifest(bank, meta, label)) visit(e);
  return {
    version: 2,
    source: meta.source,
    dataSize: meta.data.size,
    refs,
    entries: () => readManifest(bank, meta, label),
    xattrsRead: null,
    close: () => undefined,
  };
}

const isNat = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

async function loadMetaV3(bank: BankSection, label: string): Promise<MetaV3> {
  const meta = (await readSealedMeta(bank, META_OBJECT, label, { name: FORMAT_NAME, version: FORMAT_V3 })) as unknown as MetaV3;
  const t = meta.totals;
  if (
    typeof meta.source !== 'string' ||
    typeof meta.root !== 'object' ||
    meta.root === null ||
    !isNat(meta.trees?.size) ||
    !isNat(meta.trees?.count) ||
    !isNat(t?.files) ||
    !isNat(t?.bytes) ||
    !isNat(t?.entries) ||
    !isNat(t?.chunks)
  ) {
    throw corrupt(label, `${META_OBJECT} lacks the root entry, the trees' size and count or the totals`);
  }
  return meta;
}

/** Every stored tree by id, as its JSON bytes (checked against the id when the walk reaches it). */
async function loadTrees(bank: BankSection, meta: MetaV3, label: string): Promise<TreeSource> {
  if ((await bank.stat(TREES_OBJECT)) === null) throw corrupt(label, `${TREES_OBJECT} is missing`);
  const trees = new TreeCollector();
  try {
    return await collectTrees(bank, meta, label, trees);
  } catch (err) {
    trees.abandon();
    throw err;
  }
}

async function collectTrees(bank: BankSection, meta: MetaV3, label: string, trees: TreeCollector): Promise<TreeSource> {
  const stream = await bank.getStream(TREES_OBJECT);
  let size = 0;
  let parts: Buffer[] = [];
  const addLine = (line: Buffer): void => {
    const space = line.indexOf(0x20);
    const id = space === 64 ? line.subarray(0, 64).toString('latin1') : '';
    if (!/^[0-9a-f]{64}$/.test(id)) throw corrupt(label, `${TREES_OBJECT} holds a line that does not start with a tree id`);
    trees.add(id, line.subarray(65));
  };
  try {
    for await (const chunk of stream as AsyncIterable<Buffer | string>) {
      let buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      size += buf.length;
      let nl: number;
      while ((nl = buf.indexOf(0x0a)) >= 0) {
        parts.push(buf.subarray(0, nl));
        addLine(parts.length === 1 ? parts[0]! : Buffer.concat(parts));
        parts = [];
        buf = buf.subarray(nl + 1);
      }
      if (buf.length > 0) parts.push(Buffer.from(buf));
    }
  } finally {
    stream.destroy();
  }
  if (parts.length > 0) throw corrupt(label, `${TREES_OBJECT} does not end with a newline (truncated)`);
  if (size !== meta.trees.size || trees.count !== meta.trees.count) {
    throw corrupt(
      label,
      `${TREES_OBJECT} holds ${trees.count} trees in ${size} bytes, ${META_OBJECT} says ${meta.trees.count} in ${meta.trees.size}`,
    );
  }
  return trees.finish();
}

const SLASH = Buffer.from('/');
const ROOT = Buffer.from('.');
const childPath = (dir: Buffer, name: Buffer): Buffer => (dir.equals(ROOT) ? name : Buffer.concat([dir, SLASH, name]));

/** meta.json's root entry: the protected directory itself, naming the top tree. */
function rootOf(meta: MetaV3, label: string): TreeEntry & { type: 'dir' } {
  const root = decodeTreeEntry(meta.root, false);
  if (typeof root === 'string' || root.type !== 'dir') throw corrupt(label, `${META_OBJECT}'s root entry is malformed`);
  return root;
}

interface Walked {
  entry: Entry;
  refs: ChunkRef[] | null;
}

const badLink = (label: string, path: Buffer, target: Buffer): Error =>
  corrupt(label, `hard link "${displayPath(path)}" names "${displayPath(target)}", which is not a file archived before it`);

/**
 * Whether `a` comes before `b` in the walk (parents first, each directory's entries in name-byte
 * order): component by component, a shorter path (an ancestor) first.
 */
function walksBefore(a: Buffer, b: Buffer): boolean {
  const x = a.toString('latin1').split('/');
  const y = b.toString('latin1').split('/');
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] !== y[i]) return Buffer.compare(Buffer.from(x[i]!, 'latin1'), Buffer.from(y[i]!, 'latin1')) < 0;
  }
  return x.length < y.length;
}

/**
 * Walks the trees from the root, parents first, each directory's entries in name order (the order
 * protect read the files in). Stops at meta's entry count, so a crafted archive whose trees share
 * subtrees cannot make the walk explode.
 */
function* walkTrees(trees: TreeSource, meta: MetaV3, label: string, signal?: AbortSignal): Generator<Walked> {
  const root = rootOf(meta, label);
  let count = 1;
  let offset = 0;
  let chunk = 0;
  // Hard links, checked at the end against the trees themselves (a set of every file path seen was
  // the walk's largest memory on a tree of a million files; links are few).
  const links: { path: Buffer; target: Buffer }[] = [];
  yield { entry: placedEntry(root, ROOT, 0, 0), refs: null };
  const stack: { path: Buffer; entries: TreeEntry[]; next: number }[] = [
    { path: ROOT, entries: readTree(trees, root.tree, ROOT, label), next: 0 },
  ];
  while (stack.length > 0) {
    signal?.throwIfAborted();
    const top = stack[stack.length - 1]!;
    const e = top.entries[top.next++];
    if (e === undefined) {
      stack.pop();
      continue;
    }
    if (++count > meta.totals.entries)
      throw corrupt(label, `the trees hold more entries than the ${meta.totals.entries} ${META_OBJECT} counts`);
    const path = childPath(top.path, e.name);
    if (e.type === 'file') {
      yield { entry: placedEntry(e, path, offset, chunk), refs: e.refs };
      offset += e.size;
      chunk += e.refs.length;
    } else {
      if (e.type === 'hardlink') {
        if (!walksBefore(e.target, path)) throw badLink(label, path, e.target);
        links.push({ path, target: e.target });
      }
      yield { entry: placedEntry(e, path, offset, chunk), refs: null };
      if (e.type === 'dir') stack.push({ path, entries: readTree(trees, e.tree, path, label), next: 0 });
    }
  }
  if (links.length > 0) {
    const paths = new TreePaths(trees, root.tree, label);
    for (const l of links) if (paths.entry(l.target)?.type !== 'file') throw badLink(label, l.path, l.target);
  }
  if (count !== meta.totals.entries || offset !== meta.totals.bytes || chunk !== meta.totals.chunks) {
    throw corrupt(
      label,
      `the trees hold ${count} entries and ${offset} bytes in ${chunk} chunks, ${META_OBJECT} says ` +
        `${meta.totals.entries}, ${meta.totals.bytes} and ${meta.totals.chunks}`,
    );
  }
}

async function openV3(bank: BankSection, label: string, signal?: AbortSignal, visit?: (e: Entry) => void): Promise<Archive> {
  const meta = await loadMetaV3(bank, label);
  const trees = await loadTrees(bank, meta, label);
  try {
    return await checkedV3(bank, label, meta, trees, signal, visit);
  } catch (err) {
    trees.close();
    throw err;
  }
}

async function checkedV3(
  bank: BankSection,
  label: string,
  meta: MetaV3,
  trees: TreeSource,
  signal?: AbortSignal,
  visit?: (e: Entry) => void,
): Promise<Archive> {
  const refs: ChunkRef[] = [];
  // The first walk checks every tree and gathers the chunk list before anyone acts on an entry.
  for (const w of walkTrees(trees, meta, label, signal)) {
    if (w.refs !== null) for (const r of w.refs) refs.push(r);
    visit?.(w.entry);
  }
  // `data` is the list the bank's garbage collection keeps alive: it must hold exactly the trees' chunks.
  if ((await bank.stat(DATA_OBJECT)) === null) throw corrupt(label, `${DATA_OBJECT} is missing`);
  const data = await bank.getChunkList(DATA_OBJECT);
  const differs = data.length !== refs.length || data.some((r, i) => r.size !== refs[i]!.size);
  if (differs) throw corrupt(label, `${DATA_OBJECT} does not list the chunks the trees name (${data.length} listed, ${refs.length} named)`);
  // A copy or an import into a bank with another key gives every chunk a new id (ids are keyed per
  // bank) but keeps each chunk's bytes, boundaries and order, and rewrites `data` (bank/transfer.ts);
  // the trees, sealed whole, still name the source bank's ids. `data` names this bank's: read by it.
  const rekeyed = data.some((r, i) => r.id !== refs[i]!.id);
  return {
    version: 3,
    source: meta.source,
    dataSize: meta.totals.bytes,
    refs: rekeyed ? data : refs,
    entries: async function* (sig?: AbortSignal) {
      for (const w of walkTrees(trees, meta, label, sig)) yield w.entry;
    },
    xattrsRead: xattrsReadOf(meta),
    close: () => trees.close(),
  };
}

/**
 * A v3 archive's trees and meta, unwalked (null for another format): for a caller that reads a few
 * directories by path (change detection) and checks each tree as it reads it (readTree).
 */
export async function openTrees(
  bank: BankSection,
  label: string,
): Promise<{ source: string; root: TreeEntry & { type: 'dir' }; trees: TreeSource; xattrsRead: XattrsRead | null } | null> {
  if ((await metaVersion(bank)) !== FORMAT_V3) return null;
  const meta = await loadMetaV3(bank, label);
  const root = rootOf(meta, label);
  return { source: meta.source, root, trees: await loadTrees(bank, meta, label), xattrsRead: xattrsReadOf(meta) };
}

/** meta's account of how attributes were read, when it is well formed (it only ever enables a reuse). */
function xattrsReadOf(meta: MetaV3): XattrsRead | null {
  const x = meta.xattrs as Partial<XattrsRead> | undefined;
  if (typeof x !== 'object' || x === null || typeof x.complete !== 'boolean') return null;
  if (!Array.isArray(x.skip_namespaces) || !x.skip_namespaces.every((n) => typeof n === 'string')) return null;
  return { skip_namespaces: x.skip_namespaces, complete: x.complete };
}
