/**
 * The restore's small files, written by worker threads (small-file-worker.ts) in batches: the main
 * thread checks where each goes and copies its bytes into the batch; a worker checks its BLAKE3 and
 * creates it. A batch that fails names the file; `drain` waits for every batch, so a restore only
 * applies directory metadata, and reports success, after every file is on disk.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { SmallWrite, WriteBatch, WriteReply } from './small-file-worker.js';

const BATCH_FILES = 64;
const BATCH_BYTES = 2 * 1024 * 1024;
/** Batches written or waiting, across the workers: enough to keep them busy, few enough to bound memory. */
const IN_FLIGHT = 4;

/** A file to write: what the worker needs, and what the caller wants to hear if it fails. */
export interface SmallFile<T> {
  write: Omit<SmallWrite, 'offset' | 'length'>;
  data: Buffer;
  /** Handed back with a failure, to name the file in the error. */
  tag: T;
}

interface WriterThread {
  worker: Worker;
  pending: Map<number, (r: WriteReply) => void>;
}

export type WriteFailure<T> = { tag: T; corrupt: boolean; code: string | undefined; message: string };

export class SmallFileWriters<T> {
  private readonly workers: (WriterThread | undefined)[] = [];
  private next = 0;
  private job = 1;
  private batch: SmallFile<T>[] = [];
  private bytes = 0;
  private readonly inflight = new Set<Promise<void>>();
  private failure: WriteFailure<T> | null = null;

  constructor(readonly size = Math.min(2, Math.max(1, availableParallelism()))) {}

  private workerFor(): WriterThread {
    const i = this.next++ % this.size;
    let w = this.workers[i];
    if (w === undefined) {
      const worker = new Worker(new URL('./small-file-worker.js', import.meta.url));
      const pending = new Map<number, (r: WriteReply) => void>();
      worker.on('message', (r: WriteReply) => {
        pending.get(r.job)?.(r);
        pending.delete(r.job);
      });
      const fail = (err: Error): void => {
        for (const [job, done] of pending) done({ job, failed: { index: 0, corrupt: false, code: undefined, message: err.message } });
        pending.clear();
        if (this.workers[i] === w) this.workers[i] = undefined;
      };
      worker.on('error', fail);
      worker.on('exit', (code) => fail(new Error(`file writer exited (code ${code})`)));
      w = { worker, pending };
      this.workers[i] = w;
    }
    return w;
  }

  /** Queues a file; waits (back-pressure) when too many batches are in flight. Throws an earlier batch's failure. */
  async add(file: SmallFile<T>): Promise<void> {
    this.throwIfFailed();
    this.batch.push(file);
    this.bytes += file.data.length;
    if (this.batch.length >= BATCH_FILES || this.bytes >= BATCH_BYTES) await this.send();
  }

  private async send(): Promise<void> {
    const files = this.batch;
    if (files.length === 0) return;
    this.batch = [];
    this.bytes = 0;
    while (this.inflight.size >= IN_FLIGHT) await Promise.race(this.inflight);
    this.throwIfFailed();
    // One buffer of its own per batch, moved to the worker.
    const data = Buffer.allocUnsafeSlow(files.reduce((n, f) => n + f.data.length, 0));
    let at = 0;
    const writes: SmallWrite[] = files.map((f) => {
      f.data.copy(data, at);
      at += f.data.length;
      return { ...f.write, offset: at - f.data.length, length: f.data.length };
    });
    const w = this.workerFor();
    const job = this.job++;
    const done = new Promise<void>((resolve) => {
      w.pending.set(job, (r) => {
        if (r.failed !== null && this.failure === null) this.failure = { tag: files[r.failed.index]!.tag, ...r.failed };
        resolve();
      });
    }).finally(() => this.inflight.delete(done));
    this.inflight.add(done);
    w.worker.postMessage({ job, data, files: writes } satisfies WriteBatch, [data.buffer as ArrayBuffer]);
  }

  private throwIfFailed(): void {
    if (this.failure !== null) throw new SmallFileWriteError(this.failure);
  }

  /** Sends the last batch and waits for all; throws the first failure. */
  async drain(): Promise<void> {
    await this.send();
    while (this.inflight.size > 0) await Promise.race(this.inflight);
    this.throwIfFailed();
  }

  /** Waits for batches in flight (a failing restore must not leave writers running) and stops the workers. */
  async close(): Promise<void> {
    this.batch = [];
    await Promise.allSettled([...this.inflight]);
    await Promise.all(this.workers.filter((w): w is WriterThread => w !== undefined).map((w) => w.worker.terminate()));
  }
}

export class SmallFileWriteError<T> extends Error {
  constructor(readonly failure: WriteFailure<T>) {
    super(failure.message);
  }
}
