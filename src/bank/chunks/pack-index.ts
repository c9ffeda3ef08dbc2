/**
 * Where each chunk lives. One index object per pack (`chunks/index/<pack>`), written only after its
 * pack is stored whole, so an index entry always points at bytes that exist; a pack with no index is
 * the leftover of a crash and is never read (GC removes it). Every process keeps the union of the
 * index objects in memory and reads only the ones it has not seen yet.
 */
import { hasMark, markName } from '../../common/format-mark.js';
import type { BankPlugin } from '../port.js';
import { PACK_INDEXES, packIndexKey } from '../layout.js';

const INDEX_MARK = { format: 'bulwark.pack-index', version: 1 } as const;

export interface ChunkLocation {
  pack: string;
  offset: number;
  /** Stored bytes (compressed, encrypted). */
  length: number;
  /** Plaintext bytes. */
  size: number;
}

export interface PackIndex {
  pack: string;
  /** id, offset, stored length, plaintext size. */
  chunks: [string, number, number, number][];
}

export function encodePackIndex(index: PackIndex): Buffer {
  return Buffer.from(JSON.stringify({ ...INDEX_MARK, ...index }), 'utf8');
}

export function decodePackIndex(data: Buffer, pack: string): PackIndex | string {
  let o: { format?: unknown; version?: unknown; pack?: unknown; chunks?: unknown };
  try {
    o = JSON.parse(data.toString('utf8')) as typeof o;
  } catch {
    return 'not valid JSON';
  }
  if (!hasMark(o, INDEX_MARK) || o.pack !== pack || !Array.isArray(o.chunks))
    return `not a ${markName(INDEX_MARK)} record for pack ${pack}`;
  for (const c of o.chunks as unknown[]) {
    if (
      !Array.isArray(c) ||
      typeof c[0] !== 'string' ||
      !/^[0-9a-f]{64}$/.test(c[0]) ||
      !c.slice(1, 4).every((n) => Number.isSafeInteger(n) && (n as number) >= 0)
    ) {
      return 'malformed chunk entry';
    }
  }
  return { pack, chunks: o.chunks as PackIndex['chunks'] };
}

/** The in-memory union of the pack indexes of one bank. */
export class ChunkIndex {
  private readonly byId = new Map<string, ChunkLocation>();
  private readonly packs = new Map<string, PackIndex>();

  constructor(
    private readonly bank: BankPlugin,
    private readonly decode: (key: string, raw: Buffer) => Buffer,
  ) {}

  get(id: string): ChunkLocation | undefined {
    return this.byId.get(id);
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  get chunkCount(): number {
    return this.byId.size;
  }

  add(index: PackIndex): void {
    for (const [id, offset, length, size] of index.chunks) {
      // The first pack to hold a chunk keeps serving it; a later copy (two writers raced) is GC's to drop.
      if (!this.byId.has(id)) this.byId.set(id, { pack: index.pack, offset, length, size });
    }
    this.packs.set(index.pack, index);
  }

  /** Drops packs (GC removed them); a chunk another pack also holds stays findable there. */
  forget(packs: readonly string[]): void {
    if (packs.length === 0) return;
    for (const pack of packs) this.packs.delete(pack);
    this.byId.clear();
    for (const index of this.packs.values()) this.add(index);
  }

  /**
   * Reads index objects written since the last refresh (by this or another process) and forgets
   * packs whose index is gone (GC ran elsewhere). Unreadable indexes are reported to `onBad`.
   */
  async refresh(onBad: (pack: string, reason: string) => void = () => undefined): Promise<void> {
    const listed = (await this.bank.listObjects(PACK_INDEXES)).map((k) => k.slice(PACK_INDEXES.length));
    const present = new Set(listed);
    this.forget([...this.packs.keys()].filter((pack) => !present.has(pack)));
    const fresh = listed.filter((p) => !this.packs.has(p));
    const PARALLEL = 16;
    for (let i = 0; i < fresh.length; i += PARALLEL) {
      const batch = await Promise.all(
        fresh.slice(i, i + PARALLEL).map(async (pack) => {
          try {
            const key = packIndexKey(pack);
            const parsed = decodePackIndex(this.decode(key, await this.bank.getObject(key)), pack);
            if (typeof parsed === 'string') onBad(pack, parsed);
            return typeof parsed === 'string' ? null : parsed;
          } catch (err) {
            onBad(pack, (err as Error).message);
            return null;
          }
        }),
      );
      for (const index of batch) if (index !== null) this.add(index);
    }
  }

  /** Every pack's index, for GC and check. */
  indexes(): PackIndex[] {
    return [...this.packs.values()];
  }
}
