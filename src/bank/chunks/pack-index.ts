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

/**
 * Where each chunk's fields live: one slot per chunk listed by a pack, its numbers in typed arrays
 * that grow by doubling. An object per chunk (and the pack's own list of tuples) took ~257 bytes of
 * heap a chunk, a quarter of a re-protect's memory at a million files; a slot takes 20 bytes, and
 * the id string is shared by the map and the slot.
 */
class Slots {
  ids: string[] = [];
  pack = new Uint32Array(1024);
  offset = new Float64Array(1024);
  length = new Float64Array(1024);
  size = new Float64Array(1024);

  get count(): number {
    return this.ids.length;
  }

  push(id: string, pack: number, offset: number, length: number, size: number): number {
    const i = this.ids.length;
    if (i === this.pack.length) this.grow();
    this.ids.push(id);
    this.pack[i] = pack;
    this.offset[i] = offset;
    this.length[i] = length;
    this.size[i] = size;
    return i;
  }

  private grow(): void {
    const n = this.pack.length * 2;
    const more = <T extends Uint32Array | Float64Array>(a: T, make: (n: number) => T): T => {
      const b = make(n);
      b.set(a);
      return b;
    };
    this.pack = more(this.pack, (k) => new Uint32Array(k));
    this.offset = more(this.offset, (k) => new Float64Array(k));
    this.length = more(this.length, (k) => new Float64Array(k));
    this.size = more(this.size, (k) => new Float64Array(k));
  }
}

/** The in-memory union of the pack indexes of one bank. */
export class ChunkIndex {
  /** A chunk's serving slot: the first pack to list it. */
  private byId = new Map<string, number>();
  private slots = new Slots();
  /** Pack name by number, and each pack's number and slots (all it lists, copies in later packs included). */
  private packNames: string[] = [];
  private packs = new Map<string, { no: number; first: number; count: number }>();

  constructor(
    private readonly bank: BankPlugin,
    /** May wait (for the bank key, derived while the indexes are read). */
    private readonly decode: (key: string, raw: Buffer) => Buffer | Promise<Buffer>,
  ) {}

  get(id: string): ChunkLocation | undefined {
    const i = this.byId.get(id);
    if (i === undefined) return undefined;
    const s = this.slots;
    return { pack: this.packNames[s.pack[i]!]!, offset: s.offset[i]!, length: s.length[i]!, size: s.size[i]! };
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  get chunkCount(): number {
    return this.byId.size;
  }

  add(index: PackIndex): void {
    if (this.packs.has(index.pack)) return; // already known: an index object is written once and never changes
    const no = this.packNames.length;
    this.packNames.push(index.pack);
    const first = this.slots.count;
    for (const [id, offset, length, size] of index.chunks) {
      const slot = this.slots.push(id, no, offset, length, size);
      // The first pack to hold a chunk keeps serving it; a later copy (two writers raced) is GC's to drop.
      if (!this.byId.has(id)) this.byId.set(id, slot);
    }
    this.packs.set(index.pack, { no, first, count: index.chunks.length });
  }

  /** Drops packs (GC removed them); a chunk another pack also holds stays findable there. */
  forget(packs: readonly string[]): void {
    const gone = packs.filter((p) => this.packs.has(p));
    if (gone.length === 0) return;
    const dropped = new Set(gone);
    const kept = this.indexes().filter((i) => !dropped.has(i.pack));
    this.byId = new Map();
    this.slots = new Slots();
    this.packNames = [];
    this.packs = new Map();
    for (const index of kept) this.add(index);
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
            const parsed = decodePackIndex(await this.decode(key, await this.bank.getObject(key)), pack);
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

  /** Every pack's index, for GC and check (built on demand: they are the only ones to walk every pack). */
  indexes(): PackIndex[] {
    const s = this.slots;
    return [...this.packs].map(([pack, p]) => {
      const chunks: PackIndex['chunks'] = [];
      for (let i = p.first; i < p.first + p.count; i++) chunks.push([s.ids[i]!, s.offset[i]!, s.length[i]!, s.size[i]!]);
      return { pack, chunks };
    });
  }
}
