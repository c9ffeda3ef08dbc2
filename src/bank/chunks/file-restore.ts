/**
 * A restore's large file written by a codec worker (ChunkStore.writeFile): the main thread reads each
 * run of the file's chunks from the bank and moves the bytes to one worker, which opens, hashes and
 * writes them (file-write.ts). Plaintext never reaches the main thread, whose garbage collection of
 * it was a fifth to a third of a restore's large files (docs/design/restore-in-workers.md).
 */
import type { ChunkRef } from '../../plugins/api.js';
import { ChunkCorruptError } from './codec.js';
import type { RunItem } from './codec.js';
import type { FileWriteReply } from './file-write.js';
import type { FileWriter } from './pool.js';

/**
 * Plaintext bytes of one file read but not yet written: two files in flight hold twice this. 8 MiB
 * restored the bench corpus's large files as fast as 16 and peaked ~30 MiB lower.
 */
const FILE_AHEAD_BYTES = 8 * 1024 * 1024;

/** A run of the file's chunks as the store found it (store.ts). */
export interface FileRun {
  refs: ChunkRef[];
  items: RunItem[];
  plain: number;
}

/** What a run's read gave: its stored bytes to open in the worker, or plaintexts the store opened. */
export type RunBytes = { blob: Buffer; items: RunItem[] } | { plains: Buffer[] };

export interface FileRestoreDeps {
  nextRun(refs: readonly ChunkRef[], from: number): Promise<FileRun>;
  readRun(run: FileRun): Promise<RunBytes>;
  writer: FileWriter;
  corrupt(reason: string): Error;
}

/** Throws what a worker's reply to one run says went wrong: a corrupt chunk, a wrong size, an I/O error. */
function check(reply: FileWriteReply, refs: readonly ChunkRef[], deps: FileRestoreDeps): void {
  for (let i = 0; i < reply.sizes.length; i++) {
    const ref = refs[i]!;
    if (reply.sizes[i] !== ref.size) throw deps.corrupt(`chunk ${ref.id} holds ${reply.sizes[i]} bytes, ${ref.size} expected`);
  }
  if (reply.failed !== null) throw deps.corrupt(new ChunkCorruptError(refs[reply.failed.index]!.id, reply.failed.reason).message);
  if (reply.io !== null) throw Object.assign(new Error(reply.io.message), { code: reply.io.code });
}

/**
 * Writes `refs`' plaintext into `fd` from offset 0 and returns its BLAKE3 (hex). Every run is read
 * as soon as the window allows and handed to the worker in file order. Whatever happens, it returns
 * only once the worker has finished every write it was given: the caller may then close `fd`.
 */
export async function writeFileFromRuns(
  refs: readonly ChunkRef[],
  fd: number,
  deps: FileRestoreDeps,
  signal?: AbortSignal,
): Promise<string> {
  const inFlight: { bytes: number; done: Promise<void> }[] = [];
  let inFlightBytes = 0;
  // Each run is handed over after the one before it: reads finish in any order, the hash may not.
  let handedOver: Promise<void> = Promise.resolve();
  let finished = false;
  try {
    let position = 0;
    for (let next = 0; next < refs.length;) {
      signal?.throwIfAborted();
      const run = await deps.nextRun(refs, next);
      next += run.refs.length;
      const at = position;
      position += run.plain;
      const read = deps.readRun(run);
      read.catch(() => undefined);
      const turn = handedOver;
      let handOver!: () => void;
      handedOver = new Promise((resolve) => (handOver = resolve));
      const handOverRun = async (): Promise<Promise<FileWriteReply>[]> => {
        try {
          const bytes = await read;
          await turn;
          signal?.throwIfAborted();
          if ('blob' in bytes) return [deps.writer.writeRun(fd, at, bytes.blob, bytes.items)];
          let p = at;
          return bytes.plains.map((plain) => {
            const r = deps.writer.writePlain(fd, p, plain);
            p += plain.length;
            return r;
          });
        } finally {
          handOver();
        }
      };
      const done = (async () => {
        const replies = await Promise.allSettled(await handOverRun());
        let from = 0;
        for (const r of replies) {
          if (r.status === 'rejected') throw r.reason;
          check(r.value, run.refs.slice(from), deps);
          from += r.value.sizes.length;
        }
      })();
      done.catch(() => undefined);
      inFlight.push({ bytes: run.plain, done });
      inFlightBytes += run.plain;
      while (inFlightBytes > FILE_AHEAD_BYTES) {
        await inFlight[0]!.done;
        inFlightBytes -= inFlight.shift()!.bytes;
      }
    }
    // Taken off the list only once settled: on a failure, the finally below waits for the rest.
    while (inFlight.length > 0) {
      await inFlight[0]!.done;
      inFlight.shift();
    }
    finished = true;
    return await deps.writer.finish();
  } finally {
    // Nothing may still write to `fd` once this returns: every run handed over is waited for.
    await Promise.allSettled(inFlight.map((h) => h.done));
    if (!finished) deps.writer.discard();
  }
}
