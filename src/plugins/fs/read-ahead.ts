/**
 * Reading the small files being protected ahead of the one being stored: they are gathered into
 * batches that the chunk store's workers open, read, hash and seal with synchronous I/O (one message
 * per batch instead of four thread-pool round trips and two thread crossings per file). Results are
 * appended in walk order by the caller; several batches are in flight meanwhile.
 */
import type { BigIntStats } from 'node:fs';
import type { ChunkedWriter, FileRescan, FilesRead } from '../api.js';
import type { WalkItem } from './walk.js';

/** Files up to this size are read whole by the workers; larger ones are streamed block by block. */
const SMALL_FILE = 1024 * 1024;
/** A batch: enough files that the message costs little per file, small enough to spread over workers. */
const BATCH_FILES = 64;
const BATCH_BYTES = 2 * 1024 * 1024;
/** Walk items held ahead of the one being stored (and the bytes of their files). */
const AHEAD_ITEMS = 512;
const AHEAD_BYTES = 8 * 1024 * 1024;

/**
 * Large files being rescanned at once (ChunkedWriter.rescanFile): each keeps a worker busy, and the
 * workers also serve the small files' batches.
 */
const SCANS_IN_FLIGHT = 2;

/** A small file's read: its batch and its place in it. */
export interface SmallRead {
  read: FilesRead;
  index: number;
}

class Batch {
  readonly files: { path: Buffer; size: number }[] = [];
  bytes = 0;
  private started: Promise<FilesRead> | undefined;
  private resolve!: (r: FilesRead) => void;
  private reject!: (e: unknown) => void;
  readonly done = new Promise<FilesRead>((res, rej) => {
    this.resolve = res;
    this.reject = rej;
  });

  constructor(private readonly writer: ChunkedWriter) {
    this.done.catch(() => undefined);
  }

  start(): void {
    if (this.started !== undefined) return;
    this.started = this.writer.readFiles(this.files);
    this.started.then(this.resolve, this.reject);
  }

  get isStarted(): boolean {
    return this.started !== undefined;
  }
}

export interface Ahead {
  item: WalkItem;
  small?: Promise<SmallRead>;
  scan?: Promise<FileRescan>;
}

/**
 * Passes walk items through in order, the small files among the next few (those `wanted` says must
 * be read: unchanged files are not) with the promise of their read, and large files that `rescan`
 * picks (a changed file with a previous version, likely mostly the same) with the promise of their scan.
 */
export async function* readAhead(
  items: AsyncIterable<WalkItem>,
  wanted: (f: { rel: Buffer; stat: BigIntStats }) => boolean,
  writer: ChunkedWriter,
  rescan: (f: { rel: Buffer }) => boolean = () => false,
): AsyncGenerator<Ahead> {
  const queue: (Ahead & { batch?: Batch; bytes: number })[] = [];
  // Reads in flight, and only those: a batch read holds its files' sealed chunks until appended, and
  // keeping every batch (as an earlier build did, to wait for them on failure) kept every small file's
  // sealed bytes in memory until the protect ended (1.3 GiB peak RSS on the 10 GB bench).
  const reading = new Set<Promise<unknown>>();
  const scans = new Set<Promise<unknown>>();
  const track = (set: Set<Promise<unknown>>, p: Promise<unknown>): void => {
    set.add(p);
    void p.finally(() => set.delete(p)).catch(() => undefined);
  };
  const start = (batch: Batch): void => {
    if (batch.isStarted) return;
    batch.start();
    track(reading, batch.done);
  };
  let open: Batch | null = null;
  let bytes = 0;
  const take = (): Ahead => {
    const next = queue.shift()!;
    bytes -= next.bytes;
    // The consumer waits for this one: its batch goes now, however full.
    if (next.batch !== undefined && !next.batch.isStarted) {
      start(next.batch);
      if (open === next.batch) open = null;
    }
    return next;
  };
  try {
    for await (const item of items) {
      if (item.kind === 'file' && item.stat.size <= BigInt(SMALL_FILE) && wanted(item)) {
        const size = Number(item.stat.size);
        open ??= new Batch(writer);
        const batch = open;
        const index = batch.files.push({ path: item.abs, size }) - 1;
        batch.bytes += size;
        const small = batch.done.then((read) => ({ read, index }));
        small.catch(() => undefined);
        queue.push({ item, small, batch, bytes: size });
        bytes += size;
        if (batch.files.length >= BATCH_FILES || batch.bytes >= BATCH_BYTES) {
          start(batch);
          open = null;
        }
      } else if (item.kind === 'file' && writer.rescanFile !== undefined && scans.size < SCANS_IN_FLIGHT && rescan(item) && wanted(item)) {
        const scan = writer.rescanFile(item.abs);
        scan.catch(() => undefined);
        track(scans, scan);
        queue.push({ item, scan, bytes: 0 });
      } else {
        queue.push({ item, bytes: 0 });
      }
      while (queue.length > AHEAD_ITEMS || bytes > AHEAD_BYTES) yield take();
    }
    while (queue.length > 0) yield take();
  } finally {
    // Abandoned (a failure): let reads in flight finish so no worker job outlives the hook.
    await Promise.allSettled([...reading, ...scans]);
  }
}
