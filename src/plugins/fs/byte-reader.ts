import type { Readable } from 'node:stream';

/**
 * Reads a stream in exact-length pieces (one file of the `data` object after another) without
 * buffering more than one chunk, so restore and verify walk `data` sequentially in constant memory.
 */
export class ByteReader {
  private readonly iterator: AsyncIterator<Buffer | string>;
  private pending: Buffer | null = null;
  /** Bytes handed out so far. */
  position = 0;

  constructor(private readonly stream: Readable) {
    this.iterator = stream[Symbol.asyncIterator]();
  }

  private async nextChunk(): Promise<Buffer | null> {
    if (this.pending !== null) {
      const p = this.pending;
      this.pending = null;
      return p;
    }
    for (;;) {
      const r = await this.iterator.next();
      if (r.done) return null;
      const buf = typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
      if (buf.length > 0) return buf;
    }
  }

  /** Yields exactly `n` bytes in chunks; calls `onShort` for the error to throw when the stream ends first. */
  async *take(n: number, onShort: () => Error): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      const chunk = await this.nextChunk();
      if (chunk === null) throw onShort();
      if (chunk.length > left) {
        this.pending = chunk.subarray(left);
        this.position += left;
        yield chunk.subarray(0, left);
        left = 0;
      } else {
        this.position += chunk.length;
        left -= chunk.length;
        yield chunk;
      }
    }
  }

  /** Reads and drops `n` bytes. */
  async skip(n: number, onShort: () => Error): Promise<void> {
    for await (const _ of this.take(n, onShort)) {
      /* discarded */
    }
  }

  /** Whether the stream has no bytes left (consumes at most one chunk, kept for later reads). */
  async atEnd(): Promise<boolean> {
    const chunk = await this.nextChunk();
    if (chunk === null) return true;
    this.pending = chunk;
    return false;
  }

  close(): void {
    this.stream.destroy();
  }
}
