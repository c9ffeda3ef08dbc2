/**
 * The manifest being built by a protect: its lines spooled to a local temp file (hashed as they are
 * written), so memory stays constant however many entries the tree has; stored after the data.
 */
import { createHash } from 'node:crypto';
import type { Hash } from 'node:crypto';
import { mkdtemp, open, rm } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MANIFEST_OBJECT } from './manifest.js';

const SPOOL_FLUSH = 64 * 1024;

/** Manifest lines on local disk, hashed as they are written. */
export class ManifestSpool {
  private pending: string[] = [];
  private pendingBytes = 0;
  readonly hash: Hash = createHash('sha256');
  size = 0;
  entries = 0;

  private constructor(
    readonly dir: string,
    readonly path: string,
    private readonly fh: FileHandle,
  ) {}

  static async create(): Promise<ManifestSpool> {
    const dir = await mkdtemp(join(tmpdir(), 'bwk-fs-manifest-'));
    const path = join(dir, MANIFEST_OBJECT);
    return new ManifestSpool(dir, path, await open(path, 'wx', 0o600));
  }

  async add(line: string): Promise<void> {
    this.pending.push(line);
    this.pendingBytes += line.length;
    this.entries++;
    if (this.pendingBytes >= SPOOL_FLUSH) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    const bytes = Buffer.from(this.pending.join(''), 'utf8');
    this.pending = [];
    this.pendingBytes = 0;
    this.hash.update(bytes);
    this.size += bytes.length;
    await this.fh.write(bytes);
  }

  async close(): Promise<void> {
    await this.flush();
    await this.fh.close();
  }

  async dispose(): Promise<void> {
    await this.fh.close().catch(() => undefined);
    await rm(this.dir, { recursive: true, force: true });
  }
}
