/**
 * The trees of an opened v3 archive, by id. Small sets stay in memory; past SPILL_AT bytes they go
 * to a local temp file and are read back one tree at a time (pread), so a checkpoint of a million
 * files costs an index of its directories rather than every tree's bytes (~330 MB at a million
 * small files). The file is unlinked as soon as it is open: nothing is left behind by a crash, and
 * the space returns when the descriptor closes (close(), or the process ending).
 */
import { closeSync, mkdtempSync, openSync, readSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let spillAt = 16 * 1024 * 1024;
const FLUSH_AT = 256 * 1024;

/** Sets the spill threshold (bytes of trees kept in memory); returns the previous one. For tests. */
export function setTreesSpillAt(bytes: number): number {
  const was = spillAt;
  spillAt = bytes;
  return was;
}

export interface TreeSource {
  get(id: string): Buffer | undefined;
  readonly count: number;
  /** Frees the temp file (if any); get() fails afterwards. Idempotent. */
  close(): void;
}

/** Collects `<id, tree bytes>` pairs as the trees object streams by; spills to disk past SPILL_AT. */
export class TreeCollector {
  private memory: Map<string, Buffer> | null = new Map();
  private memoryBytes = 0;
  private fd = -1;
  private readonly index = new Map<string, { offset: number; length: number }>();
  private fileSize = 0;
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  private readonly spillAt = spillAt;

  add(id: string, tree: Buffer): void {
    if (this.memory !== null) {
      this.memory.set(id, Buffer.from(tree));
      this.memoryBytes += tree.length;
      if (this.memoryBytes > this.spillAt) this.spill();
      return;
    }
    this.append(id, tree);
  }

  get count(): number {
    return this.memory?.size ?? this.index.size;
  }

  /** The collected trees; the collector is not used again. */
  finish(): TreeSource {
    if (this.memory !== null) {
      const memory = this.memory;
      return { get: (id) => memory.get(id), count: memory.size, close: () => undefined };
    }
    this.flush();
    return new SpilledTrees(this.fd, this.index);
  }

  /** Frees the temp file when the trees turn out unusable before finish(). */
  abandon(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
    this.memory = null;
  }

  private spill(): void {
    const dir = mkdtempSync(join(tmpdir(), 'bwk-fs-trees-'));
    const path = join(dir, 'trees');
    try {
      this.fd = openSync(path, 'wx+', 0o600);
      unlinkSync(path);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const memory = this.memory!;
    this.memory = null;
    for (const [id, tree] of memory) this.append(id, tree);
  }

  private append(id: string, tree: Buffer): void {
    // A repeated id (a crafted object) keeps its first bytes, as a Map's set would keep the last:
    // either way the id check on reading decides whether the tree is usable.
    if (!this.index.has(id)) this.index.set(id, { offset: this.fileSize + this.pendingBytes, length: tree.length });
    this.pending.push(Buffer.from(tree));
    this.pendingBytes += tree.length;
    if (this.pendingBytes >= FLUSH_AT) this.flush();
  }

  private flush(): void {
    const bytes = Buffer.concat(this.pending);
    for (let done = 0; done < bytes.length;) done += writeSync(this.fd, bytes, done, bytes.length - done, this.fileSize + done);
    this.fileSize += bytes.length;
    this.pending = [];
    this.pendingBytes = 0;
  }
}

class SpilledTrees implements TreeSource {
  constructor(
    private fd: number,
    private readonly index: Map<string, { offset: number; length: number }>,
  ) {}

  get count(): number {
    return this.index.size;
  }

  get(id: string): Buffer | undefined {
    const at = this.index.get(id);
    if (at === undefined) return undefined;
    if (this.fd < 0) throw new Error('fs.directory: the archive was closed');
    const out = Buffer.allocUnsafe(at.length);
    for (let done = 0; done < at.length;) {
      const n = readSync(this.fd, out, done, at.length - done, at.offset + done);
      if (n === 0) throw new Error('fs.directory: the trees temp file ended early');
      done += n;
    }
    return out;
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}
