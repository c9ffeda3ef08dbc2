/**
 * Turns the entries a protect spooled (walk order, parents first) into v3 tree objects once the data
 * is committed and every chunk id is known, then stores `trees` and, last, meta.json. One pass over
 * the spool with a stack of open directories: a directory's tree is closed (hashed and written)
 * when the walk has left it, so children's trees come first and memory is bounded by depth x width.
 *
 * `trees` goes through the chunk store like any stream, so the trees of unchanged directories (same
 * bytes, same id) are chunks the bank already holds: a re-protect stores only the changed trees.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { ChunkRef, ProtectContext } from '../api.js';
import { bwkError } from '../../core/errors.js';
import { sealMeta } from '../sealed-meta.js';
import { FORMAT_NAME, META_OBJECT } from './manifest.js';
import type { EntryBase, SpecialType } from './manifest.js';
import { ManifestSpool } from './manifest-spool.js';
import { FORMAT_V3, TREES_OBJECT, encodeTree, entryObject, keySorted, treeId } from './tree.js';
import type { MetaV3, TreeEntry, XattrsRead } from './tree.js';

/** An entry as spooled during the walk: a file names its chunks by position in the data stream. */
export type SpoolEntry =
  | (EntryBase & { type: 'dir' })
  | (EntryBase & { type: 'file'; size: number; blake3: string; chunks: [number, number]; ino: bigint; ctimeNs: bigint })
  | (EntryBase & { type: 'symlink'; link: Buffer })
  | (EntryBase & { type: 'hardlink'; target: Buffer })
  | (EntryBase & { type: SpecialType; rdev: [number, number] });

/** A spool line: the path (base64, lossless) and the entry as a tree holds it, chunk positions in place of ids. */
export function spoolLine(e: SpoolEntry): string {
  const stub: TreeEntry =
    e.type === 'file'
      ? { ...e, name: e.path, refs: [] }
      : e.type === 'dir'
        ? { ...e, name: e.path, tree: '' }
        : ({ ...e, name: e.path } as TreeEntry);
  const o = entryObject(stub, false);
  if (e.type === 'file') o.chunks = e.chunks;
  return `${JSON.stringify({ p: e.path.toString('base64'), e: o })}\n`;
}

interface Open {
  rel: Buffer;
  entries: Record<string, unknown>[];
  /** The directory's own entry object, in its parent's list (or meta's root): its `tree` is set on close. */
  self: Record<string, unknown>;
}

const ROOT = Buffer.from('.');
const isUnder = (rel: Buffer, dir: Buffer): boolean =>
  dir.equals(ROOT) || (rel.length > dir.length && rel[dir.length] === 0x2f && rel.subarray(0, dir.length).equals(dir));
const baseName = (rel: Buffer): Buffer => rel.subarray(rel.lastIndexOf(0x2f) + 1);

/**
 * The spooled entry `e` with its name field added, keys sorted as every tree entry is hashed. A
 * spooled entry's keys are already sorted (entryObject wrote it), so the name is slotted in while
 * copying, which costs a tenth of sorting every entry's keys again; keys found out of order fall
 * back to the full sort, so the result is the same either way.
 */
export function withName(e: Record<string, unknown>, key: string, value: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  let placed = false;
  let last = '';
  for (const k in e) {
    if (k <= last) return keySorted([...Object.entries(e), [key, value]]);
    last = k;
    if (!placed && key < k) {
      out[key] = value;
      placed = true;
    }
    out[k] = e[k];
  }
  if (!placed) out[key] = value;
  return out;
}

export async function buildTrees(
  ctx: ProtectContext,
  spool: ManifestSpool,
  refs: readonly ChunkRef[],
  info: { files: number; bytes: number; skipped_count: number; xattrs: XattrsRead },
): Promise<void> {
  const out = await ManifestSpool.create();
  try {
    const stack: Open[] = [];
    let root: Record<string, unknown> | null = null;
    let entries = 0;
    let chunks = 0;
    // Directories with the same content (empty ones, copies) share one tree, stored once.
    const written = new Set<string>();
    const close = async (): Promise<void> => {
      const top = stack.pop()!;
      const bytes = encodeTree(top.entries);
      const id = treeId(bytes);
      top.self.tree = id;
      if (written.has(id)) return;
      written.add(id);
      await out.add(`${id} ${bytes.toString('utf8')}\n`);
    };
    const lines = createInterface({ input: createReadStream(spool.path), crlfDelay: Infinity });
    for await (const line of lines) {
      ctx.signal.throwIfAborted();
      const { p, e } = JSON.parse(line) as { p: string; e: Record<string, unknown> };
      const rel = Buffer.from(p, 'base64');
      entries++;
      if (e.type === 'file') {
        const [first, count] = e.chunks as [number, number];
        e.chunks = refs.slice(first, first + count).map((r) => [r.id, r.size]);
        chunks += count;
      }
      if (rel.equals(ROOT)) {
        root = e;
        stack.push({ rel, entries: [], self: e });
        continue;
      }
      while (stack.length > 0 && !isUnder(rel, stack[stack.length - 1]!.rel)) await close();
      const name = baseName(rel);
      const text = name.toString('utf8');
      const named = Buffer.from(text, 'utf8').equals(name) ? withName(e, 'name', text) : withName(e, 'name_b64', name.toString('base64'));
      stack[stack.length - 1]!.entries.push(named);
      if (e.type === 'dir') stack.push({ rel, entries: [], self: named });
    }
    while (stack.length > 0) await close();
    if (root === null) throw bwkError('BWK_ERR_INTERNAL', { reason: 'fs.directory: the walk produced no root entry' });
    await out.close();
    const { size } = await ctx.bank.putStream(TREES_OBJECT, createReadStream(out.path));
    if (size !== out.size)
      throw bwkError('BWK_ERR_BANK_IO', { key: TREES_OBJECT, reason: `the bank stored ${size} bytes of ${out.size} sent` });
    const meta: MetaV3 = {
      format: FORMAT_NAME,
      version: FORMAT_V3,
      source: ctx.resource.id,
      root,
      trees: { object: TREES_OBJECT, size: out.size, count: out.entries },
      totals: { files: info.files, bytes: info.bytes, entries, chunks },
      not_captured: info.skipped_count,
      xattrs: info.xattrs,
    };
    // Last: meta.json is what makes the data and trees a checkpoint's.
    await ctx.bank.put(META_OBJECT, sealMeta(meta));
  } finally {
    await out.dispose();
  }
}
