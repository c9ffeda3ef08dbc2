/**
 * Collects sealed chunks into a pack and stores it once it reaches the target size: one bank write
 * (and one fsync on the fs bank) per ~16 MiB instead of one per chunk. The pack is stored first and
 * its index after, so a crash in between leaves an unindexed pack, never an index entry without
 * bytes. At most one pack is being stored while the next fills: the writer waits for it, which is
 * the back-pressure that keeps memory bounded.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { BankPlugin } from '../port.js';
import { newPackName, packIndexKey, packKey } from '../layout.js';
import { encodePackIndex } from './pack-index.js';
import type { PackIndex } from './pack-index.js';

export interface PackSink {
  bank: BankPlugin;
  packSize: number;
  /** Seals index objects on an encrypted bank. */
  encode(key: string, data: Buffer): Buffer;
  /** Called once a pack and its index are stored: its chunks are now durable. */
  committed(index: PackIndex): void;
  /**
   * Marks the names of the packs this sink writes (`<time>-<tag><random>`), so a resumed copy or import
   * can find the unindexed packs its killed run left (orphanPacksOf) and remove them.
   */
  tag?: string;
}

export class PackWriter {
  private blobs: Buffer[] = [];
  private entries: PackIndex['chunks'] = [];
  private bytes = 0;
  private storing: Promise<void> = Promise.resolve();
  /** Stored bytes of all packs written, for statistics. */
  storedBytes = 0;

  constructor(private readonly sink: PackSink) {}

  /** Appends a sealed chunk; resolves when it is buffered (not yet durable: see `flush`). */
  async add(id: string, blob: Buffer, size: number): Promise<void> {
    this.entries.push([id, this.bytes, blob.length, size]);
    this.blobs.push(blob);
    this.bytes += blob.length;
    if (this.bytes >= this.sink.packSize) await this.rotate();
  }

  private async rotate(): Promise<void> {
    const blobs = this.blobs;
    const entries = this.entries;
    this.blobs = [];
    this.entries = [];
    this.bytes = 0;
    // Chained, not started after an await: two rotations waiting on one store (chunks smaller than a
    // pack arrive while it is stored) would otherwise both start theirs, and flush would await only
    // the second. Chained, packs are stored one at a time, each followed by its index, so a crash
    // leaves at most one pack without an index.
    const previous = this.storing;
    this.storing = previous.then(() => this.store(blobs, entries));
    // Marked handled here; the next rotate or flush awaits it and rethrows a failure.
    this.storing.catch(() => undefined);
    await previous;
  }

  private async store(blobs: Buffer[], entries: PackIndex['chunks']): Promise<void> {
    if (entries.length === 0) return;
    const pack = newPackName(new Date(), `${this.sink.tag ?? ''}${randomBytes(8).toString('hex')}`);
    // Create-only: a pack is never overwritten, whatever another process does with the same bank.
    const { size } = await this.sink.bank.putObjectStream(packKey(pack), Readable.from(blobs), { ifAbsent: true });
    this.storedBytes += size;
    const index: PackIndex = { pack, chunks: entries };
    const key = packIndexKey(pack);
    await this.sink.bank.putObject(key, this.sink.encode(key, encodePackIndex(index)));
    this.sink.committed(index);
  }

  /** Stores the partial pack and waits for every store: afterwards every added chunk is durable. */
  async flush(): Promise<void> {
    await this.rotate();
    await this.storing;
  }
}
