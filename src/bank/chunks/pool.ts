/**
 * The codec worker pool: one worker thread per core by default. Jobs go to the worker with the fewest
 * jobs in flight; a held chunk (hashed, awaiting seal or drop) stays with its worker. Workers keep the
 * process alive only while they have work, so a CLI exits when it is done.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { ChunkCorruptError } from './codec.js';
import type { CodecKeys } from './codec.js';
import type { ChunkerParams } from './fastcdc.js';
import type { IngestReply, IngestRequest } from './file-ingest.js';
import type { FileScan } from './file-scan.js';
import type { RunItem, RunReply, WorkerJob, WorkerReply, WorkerRequest } from './codec-worker.js';
import type { FileWriteReply } from './file-write.js';

interface Pending {
  resolve(reply: WorkerReply): void;
  reject(err: Error): void;
}

interface Slot {
  worker: Worker;
  pending: Map<number, Pending>;
}

/** One file being written by one worker (pool.fileWriter), run after run in order. */
export interface FileWriter {
  /** Opens a run of stored chunks (`blob` is moved) and writes their plaintext at `position` of `fd`. */
  writeRun(fd: number, position: number, blob: Uint8Array, items: RunItem[]): Promise<FileWriteReply>;
  /** Writes plaintext already opened (`plain` is moved). */
  writePlain(fd: number, position: number, plain: Uint8Array): Promise<FileWriteReply>;
  /** The BLAKE3 (hex) of everything written, in order; the worker forgets the file. */
  finish(): Promise<string>;
  /** Lets the worker forget the file without a digest. */
  discard(): void;
}

export interface HashedChunk {
  id: string;
  /** Seals the held chunk (compress + encrypt) and returns the stored bytes. */
  seal(level: number): Promise<Buffer>;
  /** Lets the worker forget the held chunk (it is already stored). */
  drop(): void;
}

const toBuffer = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

/**
 * The bytes in a buffer of their own. Posting a view clones its whole ArrayBuffer (a 16 MiB pack
 * for one small chunk), so views are copied out and the copy is moved, not cloned.
 */
function exact(u: Uint8Array): Uint8Array {
  if (u.byteOffset === 0 && u.buffer.byteLength === u.byteLength && u.buffer instanceof ArrayBuffer) return u;
  // Not u.slice(): on a Buffer that is a view, not a copy.
  return new Uint8Array(u);
}

/** Chunk buffers come in powers of two from 64 KiB, so one handed back fits the next chunk of its class. */
const capacityFor = (n: number): number => Math.max(64 * 1024, 2 ** Math.ceil(Math.log2(Math.max(1, n))));
/** Spare buffers kept per capacity: about the chunks in flight (a writer's window). */
const SPARE_PER_SIZE = 16;

export class CodecPool {
  private readonly slots: (Slot | undefined)[] = [];
  private readonly spare = new Map<number, ArrayBuffer[]>();
  private nextJob = 1;
  private closed = false;

  /** `keys` may still be being derived: workers start meanwhile and hold jobs until they arrive. */
  constructor(
    private readonly keys: CodecKeys | Promise<CodecKeys>,
    readonly size = Math.max(1, availableParallelism()),
  ) {}

  /**
   * Starts every worker now. A worker takes ~0.1 s to load, about as long as the bank key's scrypt:
   * started while the key is derived, they are ready when the first chunk comes.
   */
  warm(): void {
    for (let i = 0; i < this.size; i++) if (this.slots[i] === undefined) this.spawn(i);
  }

  private spawn(index: number): Slot {
    const worker = new Worker(new URL('./codec-worker.js', import.meta.url));
    Promise.resolve(this.keys).then(
      (keys) => worker.postMessage({ t: 'keys', keys } satisfies WorkerRequest),
      () => undefined,
    );
    const slot: Slot = { worker, pending: new Map() };
    worker.on('message', (reply: WorkerReply) => {
      if ('back' in reply) this.recycle(reply.back.buffer as ArrayBuffer);
      const p = slot.pending.get(reply.job);
      if (p === undefined) return;
      slot.pending.delete(reply.job);
      if (slot.pending.size === 0) worker.unref();
      p.resolve(reply);
    });
    const fail = (err: Error): void => {
      // A dead worker loses its held chunks: every job it had fails, and the next job gets a new worker.
      if (this.slots[index] === slot) this.slots[index] = undefined;
      for (const p of slot.pending.values()) p.reject(err);
      slot.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`codec worker exited (code ${code})`)));
    // After the listeners: adding a 'message' listener refs the worker again.
    worker.unref();
    this.slots[index] = slot;
    return slot;
  }

  private pick(): Slot {
    if (this.closed) throw new Error('codec pool is closed');
    let best: Slot | undefined;
    for (let i = 0; i < this.size; i++) {
      const slot = this.slots[i] ?? this.spawn(i);
      if (best === undefined || slot.pending.size < best.pending.size) best = slot;
    }
    return best!;
  }

  private call(slot: Slot, req: WorkerJob, transfer?: ArrayBuffer[]): Promise<WorkerReply> {
    return new Promise((resolve, reject) => {
      if (!this.slots.includes(slot)) return reject(new Error('codec worker is gone'));
      slot.pending.set(req.job, { resolve, reject });
      slot.worker.ref();
      try {
        slot.worker.postMessage(req, transfer);
      } catch {
        // Some buffers (made by native code) cannot be moved: cloning them is correct, only slower.
        slot.worker.postMessage(req);
      }
    });
  }

  private static unwrap(reply: WorkerReply): WorkerReply {
    if ('error' in reply) throw new Error(`codec worker: ${reply.error}`);
    if ('corrupt' in reply) throw new ChunkCorruptError(reply.corrupt.id, reply.corrupt.reason);
    return reply;
  }

  /**
   * Hashes a chunk in a worker, which keeps it until `seal` or `drop`. The buffer is moved when it
   * owns its ArrayBuffer (or is `owned`: from chunkBuffer): the caller must not use it afterwards.
   */
  async hash(data: Uint8Array, owned = false): Promise<HashedChunk> {
    const slot = this.pick();
    const job = this.nextJob++;
    const movable = owned ? data : exact(data);
    const reply = CodecPool.unwrap(await this.call(slot, { t: 'hash', job, data: movable }, [movable.buffer as ArrayBuffer]));
    const id = (reply as { id: string }).id;
    return {
      id,
      seal: async (level) => toBuffer((CodecPool.unwrap(await this.call(slot, { t: 'seal', job, level })) as { blob: Uint8Array }).blob),
      drop: () => {
        void this.call(slot, { t: 'drop', job }).catch(() => undefined);
      },
    };
  }

  /**
   * A buffer for a chunk of `size` bytes to hash: a view of one the workers handed back after sealing
   * or dropping an earlier chunk, when there is one. Fresh buffers for every chunk cost page faults
   * and garbage collection on every byte backed up; recycled ones cost neither.
   */
  chunkBuffer(size: number): Uint8Array {
    const capacity = capacityFor(size);
    const ab = this.spare.get(capacity)?.pop() ?? (Buffer.allocUnsafeSlow(capacity).buffer as ArrayBuffer);
    return new Uint8Array(ab, 0, size);
  }

  private recycle(ab: ArrayBuffer): void {
    const capacity = ab.byteLength;
    if (capacity !== capacityFor(capacity) || this.closed) return;
    let list = this.spare.get(capacity);
    if (list === undefined) this.spare.set(capacity, (list = []));
    if (list.length < SPARE_PER_SIZE) list.push(ab);
  }

  /** Opens a stored chunk in a worker: decrypt, decompress, check the id (ChunkCorruptError if not). */
  async open(blob: Buffer, id: string): Promise<Buffer> {
    const slot = this.pick();
    const movable = exact(blob);
    const reply = CodecPool.unwrap(
      await this.call(slot, { t: 'open', job: this.nextJob++, blob: movable, id }, [movable.buffer as ArrayBuffer]),
    );
    return toBuffer((reply as { data: Uint8Array }).data);
  }

  /**
   * Opens a run of stored chunks read in one piece (`blob` is moved): each checked against its id.
   * With `keep`, their plaintexts come back back to back in one buffer; a check asks only for sizes.
   * A chunk that fails stops the run: `failed` names it, the ones before it are returned.
   */
  async openRun(blob: Uint8Array, items: RunItem[], keep: boolean): Promise<RunReply> {
    const slot = this.pick();
    const movable = exact(blob);
    const req: WorkerJob = { t: 'openRun', job: this.nextJob++, blob: movable, items, keep };
    return CodecPool.unwrap(await this.call(slot, req, [movable.buffer as ArrayBuffer])) as RunReply;
  }

  /**
   * A writer for one file, pinned to the least busy worker: every run of a file must reach the same
   * worker, whose messages are taken in order, for its hash to see the bytes in sequence.
   */
  fileWriter(): FileWriter {
    const slot = this.pick();
    const file = this.nextJob++;
    const run = async (fd: number, position: number, body: { blob: Uint8Array; items: RunItem[] } | { plain: Uint8Array }) => {
      const bytes = exact('blob' in body ? body.blob : body.plain);
      const what = 'blob' in body ? { blob: bytes, items: body.items } : { plain: bytes };
      const req: WorkerJob = { t: 'writeRun', job: this.nextJob++, file, fd, position, ...what };
      return CodecPool.unwrap(await this.call(slot, req, [bytes.buffer as ArrayBuffer])) as FileWriteReply;
    };
    const end = (discard: boolean): Promise<WorkerReply> => this.call(slot, { t: 'endFile', job: this.nextJob++, file, discard });
    return {
      writeRun: (fd, position, blob, items) => run(fd, position, { blob, items }),
      writePlain: (fd, position, plain) => run(fd, position, { plain }),
      finish: async () => {
        const digest = (CodecPool.unwrap(await end(false)) as { blake3: string | null }).blake3;
        if (digest === null) throw new Error('codec worker lost the file being written');
        return digest;
      },
      discard: () => void end(true).catch(() => undefined),
    };
  }

  /** Reads and seals a batch of small local files in a worker (file-ingest.ts). */
  async ingest(files: IngestRequest['files'], chunker: ChunkerParams, level: number): Promise<IngestReply> {
    const slot = this.pick();
    const req: WorkerJob = { t: 'ingest', job: this.nextJob++, files, chunker, level };
    return CodecPool.unwrap(await this.call(slot, req)) as IngestReply;
  }

  /** Reads, cuts and hashes a large local file in a worker, sealing nothing (file-scan.ts). */
  async scan(path: Buffer, chunker: ChunkerParams): Promise<FileScan> {
    const slot = this.pick();
    const req: WorkerJob = { t: 'scan', job: this.nextJob++, path, chunker };
    return (CodecPool.unwrap(await this.call(slot, req)) as { scan: FileScan }).scan;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.spare.clear();
    const slots = this.slots.filter((s): s is Slot => s !== undefined);
    this.slots.length = 0;
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }
}
