/**
 * Reading a v3 archive's trees: one tree, checked against its id (readTree), and entries by path,
 * decoded a directory at a time (TreePaths: change detection, and the hard-link check at the end of
 * a walk).
 */
import { corrupt, displayPath } from './manifest.js';
import { TREES_OBJECT, decodeTreeEntry, treeId } from './tree.js';
import type { TreeEntry } from './tree.js';
import type { TreeSource } from './tree-source.js';

/** The entries of the tree `id` (directory `path`), checked against the id and for sorted, unique names. */
export function readTree(trees: TreeSource, id: string, path: Buffer, label: string): TreeEntry[] {
  const where = `tree of "${displayPath(path)}"`;
  const bytes = trees.get(id);
  if (bytes === undefined) throw corrupt(label, `${where} (${id}) is missing from ${TREES_OBJECT}`);
  if (treeId(bytes) !== id) throw corrupt(label, `${where} does not match its id`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw corrupt(label, `${where} is not valid JSON`);
  }
  const list = (parsed as { entries?: unknown } | null)?.entries;
  if (!Array.isArray(list)) throw corrupt(label, `${where} has no entry list`);
  const out: TreeEntry[] = [];
  for (const raw of list) {
    const e = typeof raw === 'object' && raw !== null ? decodeTreeEntry(raw as Record<string, unknown>) : 'not an object';
    if (typeof e === 'string') throw corrupt(label, `${where} holds a malformed entry: ${e}`);
    const prev = out[out.length - 1];
    if (prev !== undefined && Buffer.compare(prev.name, e.name) >= 0) throw corrupt(label, `${where} lists names out of order or twice`);
    out.push(e);
  }
  return out;
}

const SLASH = 0x2f;
const ROOT = Buffer.from('.');

/** A directory's entries by name (latin1), or null: no such directory, or (onDamaged) a damaged tree. */
type Dir = Map<string, TreeEntry> | null;

export interface TreePathsOptions {
  /** Entries kept decoded, counted over whole directories, least recently used dropped first (default: all). */
  keepEntries?: number;
  /** A damaged tree is reported here and treated as absent, instead of thrown. */
  onDamaged?: (err: unknown) => void;
}

/** An archive's entries by relative path (`a/b`, as the walk names them), each tree checked as it is decoded. */
export class TreePaths {
  /** Decoded directories, least recently used first: `r` for the root, `d<path>` for the others. */
  private readonly dirs = new Map<string, Dir>();
  private decoded = 0;

  constructor(
    private readonly trees: TreeSource,
    private readonly rootTree: string,
    private readonly label: string,
    private readonly options: TreePathsOptions = {},
  ) {}

  entry(rel: Buffer): TreeEntry | undefined {
    const slash = rel.lastIndexOf(SLASH);
    return this.dir(slash < 0 ? null : rel.subarray(0, slash))?.get(rel.subarray(slash + 1).toString('latin1'));
  }

  /** The directory at `path` (null: the root). */
  private dir(path: Buffer | null): Dir {
    const key = path === null ? 'r' : `d${path.toString('latin1')}`;
    const hit = this.dirs.get(key);
    if (hit !== undefined) {
      this.dirs.delete(key);
      this.dirs.set(key, hit);
      return hit;
    }
    let id: string | undefined = this.rootTree;
    if (path !== null) {
      const e = this.entry(path);
      id = e?.type === 'dir' ? e.tree : undefined;
    }
    const dir = id === undefined ? null : this.decode(id, path ?? ROOT);
    this.dirs.set(key, dir);
    this.decoded += dir?.size ?? 0;
    const keep = this.options.keepEntries ?? Infinity;
    for (const [oldest, d] of this.dirs) {
      if (this.decoded <= keep || oldest === key) break;
      this.dirs.delete(oldest);
      this.decoded -= d?.size ?? 0;
    }
    return dir;
  }

  private decode(id: string, path: Buffer): Dir {
    try {
      return new Map(readTree(this.trees, id, path, this.label).map((e) => [e.name.toString('latin1'), e]));
    } catch (err) {
      if (this.options.onDamaged === undefined) throw err;
      this.options.onDamaged(err);
      return null;
    }
  }
}
