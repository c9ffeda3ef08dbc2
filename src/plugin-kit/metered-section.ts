/**
 * A BankSection that counts the bytes a plugin writes and lets the conformance suite act at a byte
 * count: cancel the hook (abort its signal) or crash it (fail the write, as a dying worker's would).
 * Every write path counts: put, putStream, ChunkedWriter.write and files appended from readFiles or rescanFile.
 */
import type { BankSection, ChunkedWriter, FileRescan, FilesRead, ReadChunksOptions } from '../plugins/api.js';

type Source = Parameters<BankSection['putStream']>[1];

/** What the suite does once `at` bytes have been written; `fire` may throw to fail that write. */
export interface WriteTrigger {
  at: number;
  fire(): void;
}

/** The error a simulated crash fails a write with. */
export class SimulatedCrash extends Error {
  constructor() {
    super('conformance suite: simulated worker crash while writing to the bank');
    this.name = 'SimulatedCrash';
  }
}

export class MeteredSection implements BankSection {
  /** Bytes written so far. */
  written = 0;
  /** `written` when the trigger fired, or null. */
  firedAt: number | null = null;

  /** The inner section's, when it has them (a restore or verify of large files; nothing is counted). */
  readonly writeChunksToFile?: BankSection['writeChunksToFile'];
  readonly hashChunks?: BankSection['hashChunks'];

  constructor(
    readonly inner: BankSection,
    private trigger: WriteTrigger | null = null,
  ) {
    if (inner.writeChunksToFile) this.writeChunksToFile = inner.writeChunksToFile.bind(inner);
    if (inner.hashChunks) this.hashChunks = inner.hashChunks.bind(inner);
  }

  private count(n: number): void {
    this.written += n;
    if (this.trigger !== null && this.written >= this.trigger.at) {
      const t = this.trigger;
      this.trigger = null;
      this.firedAt = this.written;
      t.fire();
    }
  }

  private async *counted(source: Source): AsyncIterable<Uint8Array> {
    for await (const piece of source as AsyncIterable<Uint8Array>) {
      const bytes = typeof piece === 'string' ? Buffer.from(piece) : piece;
      this.count(bytes.length);
      yield bytes;
    }
  }

  async put(name: string, data: Buffer | string): Promise<void> {
    this.count(Buffer.byteLength(data));
    await this.inner.put(name, data);
  }

  putStream(name: string, source: Source): Promise<{ size: number }> {
    return this.inner.putStream(name, this.counted(source));
  }

  get(name: string): Promise<Buffer> {
    return this.inner.get(name);
  }
  getStream(name: string): ReturnType<BankSection['getStream']> {
    return this.inner.getStream(name);
  }
  stat(name: string): Promise<{ size: number } | null> {
    return this.inner.stat(name);
  }
  list(prefix?: string): Promise<string[]> {
    return this.inner.list(prefix);
  }
  delete(name: string): Promise<void> {
    return this.inner.delete(name);
  }
  getChunkList(name: string): ReturnType<BankSection['getChunkList']> {
    return this.inner.getChunkList(name);
  }
  readChunks(refs: Parameters<BankSection['readChunks']>[0], signal?: AbortSignal, options?: ReadChunksOptions): AsyncIterable<Buffer> {
    return this.inner.readChunks(refs, signal, options);
  }

  async chunkedWriter(): Promise<ChunkedWriter> {
    const writer = await this.inner.chunkedWriter();
    const rescan = writer.rescanFile?.bind(writer);
    return {
      get length() {
        return writer.length;
      },
      write: (source) => writer.write(this.counted(source)),
      readFiles: async (files): Promise<FilesRead> => {
        const read = await writer.readFiles(files);
        return {
          files: read.files,
          append: async (i) => {
            const f = read.files[i];
            if (f?.kind === 'data') this.count(f.size);
            return read.append(i);
          },
        };
      },
      rescanFile:
        rescan &&
        (async (path: Buffer): Promise<FileRescan> => {
          const scan = await rescan(path);
          if (scan.kind !== 'data') return scan;
          const append = async (): Promise<number | null> => {
            const n = await scan.append();
            if (n !== null) this.count(scan.size);
            return n;
          };
          return { ...scan, append };
        }),
      reuse: (refs) => writer.reuse(refs),
      commit: (name) => writer.commit(name),
    };
  }
}
