/**
 * Every chunk the bank's checkpoints reference. Chunk lists carry a magic first line, so they are
 * found by reading the objects of every resource section, whatever plugin wrote them; nothing about
 * a plugin's own format is needed.
 */
import { isBulwarkError } from '../../core/errors.js';
import { CHECKPOINTS, isResourceDataKey } from '../layout.js';
import type { ChunkStore } from './store.js';
import { isChunkList } from './chunk-list.js';
import type { ChunkRef } from '../../plugins/api.js';

export interface References {
  ids: Set<string>;
  /** Chunk lists that could not be read: while there are any, nothing can be known to be unused. */
  unreadable: { key: string; reason: string }[];
  lists: number;
  /** Where each id was first seen, for messages about missing chunks. */
  firstSeen: Map<string, string>;
}

const PARALLEL = 16;

export async function collectReferences(store: ChunkStore): Promise<References> {
  const keys = (await store.bank.listObjects(CHECKPOINTS)).filter(isResourceDataKey);
  const out: References = { ids: new Set(), unreadable: [], lists: 0, firstSeen: new Map() };
  for (let i = 0; i < keys.length; i += PARALLEL) {
    await Promise.all(
      keys.slice(i, i + PARALLEL).map(async (key) => {
        let plain: Buffer;
        try {
          plain = await store.getSealed(key);
        } catch (err) {
          // Deleted meanwhile (a checkpoint being deleted): it references nothing any more.
          if (isBulwarkError(err, 'BWK_ERR_BANK_OBJECT_NOT_FOUND')) return;
          out.unreadable.push({ key, reason: (err as Error).message });
          return;
        }
        if (!isChunkList(plain)) return;
        let chunks: ChunkRef[];
        try {
          const list = await store.resolveList(plain, `bank ${store.label}`, key);
          chunks = [...list.listChunks, ...list.chunks];
        } catch (err) {
          out.unreadable.push({ key, reason: (err as Error).message });
          return;
        }
        out.lists++;
        for (const c of chunks) {
          if (!out.ids.has(c.id)) out.firstSeen.set(c.id, key);
          out.ids.add(c.id);
        }
      }),
    );
  }
  return out;
}
