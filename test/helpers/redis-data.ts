/**
 * Test data for the redis plugin: a database with every key type, binary keys and values and TTLs,
 * and an independent snapshot of a database's content to compare before and after a round trip.
 *
 * The snapshot reads values with the type's own commands instead of comparing DUMP bytes: DUMP of a
 * hashtable-encoded set is not stable across RESTORE (members come back in another bucket order), so
 * equal data could compare unequal.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';

/** A binary key name: NUL, invalid UTF-8 and a newline. */
export const BINARY_KEY = Buffer.from([0x00, 0xff, 0xfe, 0x0a, 0x41, 0x80]);
export const TTL_MS = 600_000;
/** Small strings, so the scan runs many SCAN calls and several pipelined batches. */
export const FILLER_KEYS = 2500;

/** Keys per type that seedAllTypes writes. */
export const SEEDED_BY_TYPE = { string: 6 + FILLER_KEYS, hash: 3, list: 2, set: 2, zset: 1, stream: 1 };

/** Writes the test data into the client's database; returns the number of keys. */
export async function seedAllTypes(c: Redis): Promise<number> {
  await c.set('str:plain', 'hello redis');
  await c.set('str:binary-value', randomBytes(1000));
  await c.set(BINARY_KEY, Buffer.concat([Buffer.from([0, 255, 10]), randomBytes(64)]));
  await c.set('str:big', randomBytes(300_000));
  await c.set('str:int', '12345');
  await c.hset('hash:small', 'a', '1', 'b', '2');
  await c.hset('hash:small', Buffer.from([0xc3, 0x28]), Buffer.from([0xff, 0x00]));
  await c.hset('hash:big', Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`field-${i}`, `value-${i}`])));
  await c.rpush('list:1', ...Array.from({ length: 150 }, (_, i) => `item-${i}`));
  await c.rpush('list:binary', randomBytes(40), randomBytes(40));
  await c.sadd('set:strings', ...Array.from({ length: 300 }, (_, i) => `member-${i}`));
  await c.sadd('set:ints', 1, 2, 3, 42, 1000);
  await c.zadd('zset:1', ...Array.from({ length: 200 }, (_, i) => [i * 1.5, `z-${i}`]).flat());
  for (let i = 0; i < 6; i++) await c.xadd('stream:1', '*', 'n', String(i), 'payload', `entry ${i}`);
  await c.xgroup('CREATE', 'stream:1', 'readers', '0');
  await c.xreadgroup('GROUP', 'readers', 'alice', 'COUNT', 2, 'STREAMS', 'stream:1', '>');
  await c.set('ttl:str', 'expires', 'PX', TTL_MS);
  await c.hset('ttl:hash', 'k', 'v');
  await c.pexpire('ttl:hash', TTL_MS);
  const pipeline = c.pipeline();
  for (let i = 0; i < FILLER_KEYS; i++) pipeline.set(`filler:${i}`, `v${i}`);
  await pipeline.exec();
  return 15 + FILLER_KEYS;
}

export interface KeyState {
  type: string;
  /** Remaining TTL in ms, -1 without expiry. */
  pttl: number;
  /** SHA-256 of the value read with the type's commands, in a canonical order. */
  content: string;
}

const hex = (v: unknown): unknown => (Buffer.isBuffer(v) ? v.toString('hex') : Array.isArray(v) ? v.map(hex) : v);
const sortedHex = (items: Buffer[]): string[] => items.map((b) => b.toString('hex')).sort();

async function contentOf(c: Redis, key: Buffer, type: string): Promise<unknown> {
  const call = (...args: (string | Buffer | number)[]) => c.callBuffer(args[0] as string, ...args.slice(1)) as Promise<unknown>;
  switch (type) {
    case 'string':
      return hex(await call('GET', key));
    case 'list':
      return hex(await call('LRANGE', key, 0, -1));
    case 'set':
      return sortedHex((await call('SMEMBERS', key)) as Buffer[]);
    case 'zset':
      return hex(await call('ZRANGE', key, 0, -1, 'WITHSCORES'));
    case 'hash': {
      const flat = (await call('HGETALL', key)) as Buffer[];
      const pairs: string[] = [];
      for (let i = 0; i < flat.length; i += 2) pairs.push(`${flat[i]!.toString('hex')}=${flat[i + 1]!.toString('hex')}`);
      return pairs.sort();
    }
    case 'stream': {
      const groups = (await c.call('XINFO', 'GROUPS', key)) as unknown[][];
      const summary = groups.map((g) => {
        const f = Object.fromEntries(Array.from({ length: g.length / 2 }, (_, i) => [String(g[i * 2]), g[i * 2 + 1]]));
        return [f.name, f.consumers, f.pending, f['last-delivered-id']];
      });
      return { entries: hex(await call('XRANGE', key, '-', '+')), groups: summary };
    }
    default:
      throw new Error(`unexpected type ${type}`);
  }
}

/** Every key of the client's database by hex name, with its type, TTL and a content hash. */
export async function snapshot(c: Redis): Promise<Map<string, KeyState>> {
  const out = new Map<string, KeyState>();
  let cursor = '0';
  do {
    const [next, keys] = await c.scanBuffer(cursor, 'COUNT', 1000);
    cursor = next.toString();
    for (const key of keys) {
      const type = await c.type(key);
      const content = createHash('sha256')
        .update(JSON.stringify(await contentOf(c, key, type)))
        .digest('hex');
      out.set(key.toString('hex'), { type, pttl: await c.pttl(key), content });
    }
  } while (cursor !== '0');
  return out;
}

/** The snapshot without TTL values (only whether one exists), to compare across a round trip. */
export function comparable(s: Map<string, KeyState>): Record<string, string> {
  return Object.fromEntries(
    [...s].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, `${v.type}|ttl:${v.pttl >= 0}|${v.content}`]),
  );
}
