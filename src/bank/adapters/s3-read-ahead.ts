/**
 * Read-ahead for ranged reads of packs on S3. A restore or verify reads a pack chunk after chunk,
 * and one request per chunk costs a round trip each (on MinIO here ~15 ms, so ~1,600 chunks of a
 * 100 MB restore took 20 s). A miss fetches WINDOW bytes from the asked offset instead, and the
 * following chunks come from memory. Only packs are read this way: they are written create-only and
 * never change (GC deletes them whole), so a window never holds stale bytes; writes and deletes
 * through this bank drop the key's windows anyway.
 */
const WINDOW = 4 * 1024 * 1024;
/** At most this many windows (WINDOW each) are kept, least recently used first out. */
const WINDOWS = 8;

interface Window {
  key: string;
  start: number;
  bytes: Promise<Buffer>;
}

export class ReadAhead {
  private readonly windows: Window[] = [];

  /** `fetch` returns up to `length` bytes at `offset` (fewer at the object's end). */
  constructor(private readonly fetch: (key: string, offset: number, length: number) => Promise<Buffer>) {}

  /** Up to `length` bytes at `offset` (fewer when the object ends first), as a copy. */
  async read(key: string, offset: number, length: number): Promise<Buffer> {
    // A snapshot: other reads add and drop windows while this one awaits.
    for (const w of [...this.windows]) {
      if (w.key !== key || offset < w.start) continue;
      const bytes = await w.bytes.catch(() => null);
      if (bytes === null || offset > w.start + bytes.length) continue;
      // A full window that ends inside the range does not cover it; a shorter one ends where the
      // object does, so what it holds is all there is (a short read stays short).
      if (offset + length > w.start + bytes.length && bytes.length === WINDOW) continue;
      const at = this.windows.indexOf(w);
      if (at >= 0) this.windows.push(...this.windows.splice(at, 1));
      return Buffer.from(bytes.subarray(offset - w.start, offset - w.start + length));
    }
    if (length >= WINDOW) return this.fetch(key, offset, length);
    const window: Window = { key, start: offset, bytes: this.fetch(key, offset, WINDOW) };
    this.windows.push(window);
    if (this.windows.length > WINDOWS) this.windows.shift();
    try {
      return Buffer.from((await window.bytes).subarray(0, length));
    } catch (err) {
      this.drop(key);
      throw err;
    }
  }

  /** Forgets every window of `key` (it was written or deleted). */
  drop(key: string): void {
    for (let i = this.windows.length - 1; i >= 0; i--) if (this.windows[i]!.key === key) this.windows.splice(i, 1);
  }
}
