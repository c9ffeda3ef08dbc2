/**
 * The checkpoint archive `checkpoint export` writes and `checkpoint import` reads: one file, written
 * and read front to back in bounded memory.
 *
 *   "BWKEXPORT1\n"                  magic (11 bytes)
 *   public key                      32 bytes: the exporting deployment's Ed25519 key
 *   manifest length                 u32, big-endian
 *   manifest                        JSON (Manifest below): the checkpoint record (plan snapshot, resource
 *                                   graph), every object of the checkpoint, every chunk list as
 *                                   [hash, size] pairs, the export key's scrypt parameters
 *   signature                       64 bytes: Ed25519 over everything before it
 *   entries                         each object, then each chunk the first time a list names it, in
 *                                   manifest order: nonce 12 | AES-256-GCM(plaintext) | tag 16
 *
 * Nothing in the entries is self-describing: their order, sizes and hashes all come from the signed
 * manifest, so an archive cannot declare a size, a name or a duplicate the signer did not write, and
 * its exact length is known before the first entry is read. Hashes are BLAKE3 keyed with a key derived
 * from the export passphrase (as a bank's chunk ids are), so the manifest tells nothing about content;
 * each entry's additional data names its position and hash, so entries cannot be swapped.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { CheckpointRecord } from '../../checkpoints/model.js';
import type { KdfParams } from '../../bank/chunks/keys.js';

export const MAGIC = Buffer.from('BWKEXPORT1\n');
export const PUBLIC_KEY_BYTES = 32;
export const SIGNATURE_BYTES = 64;
const NONCE = 12;
const TAG = 16;
const MiB = 1024 * 1024;
/** Bounds on what a manifest may declare: a hostile one cannot make an import allocate more. */
export const MAX_MANIFEST_BYTES = 512 * MiB;
export const MAX_CHUNK_BYTES = 64 * MiB;
export const MAX_OBJECT_BYTES = 64 * MiB;
export const FORMAT = 'bulwark-checkpoint-export';

export type ManifestObject =
  { name: string; kind: 'object'; hash: string; size: number } | { name: string; kind: 'list'; chunks: [string, number][] };

export interface Manifest {
  format: typeof FORMAT;
  version: 1;
  exported_at: string;
  /** How the export key comes from the passphrase, and a value that tells a wrong passphrase at once. */
  kdf: KdfParams;
  key_check: string;
  /** The checkpoint record as it was in the exporting deployment. */
  checkpoint: CheckpointRecord;
  /** The plan as the exporting catalog had it, when it still did (name, description, parameters). */
  plan: { id: string; name: string; description?: string; parameters?: Record<string, unknown> } | null;
  /** Names are relative to the checkpoint (`resources/<key>/<name>`, `saved-info/<key>.json`). */
  objects: ManifestObject[];
}

/** The stored length of an entry of `size` plaintext bytes. */
export const sealedLength = (size: number): number => size + NONCE + TAG;

export const headerLength = (manifestBytes: number): number => MAGIC.length + PUBLIC_KEY_BYTES + 4 + manifestBytes;

/** Everything the signature covers: magic, public key, manifest length, manifest. */
export function signedHeader(publicKey: Buffer, manifest: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(manifest.length);
  return Buffer.concat([MAGIC, publicKey, len, manifest]);
}

export interface Entry {
  index: number;
  kind: 'object' | 'chunk';
  hash: string;
  size: number;
  /** The object it is, or the (first) list that names the chunk. */
  name: string;
  /** How messages name it: `entry 7 (chunk 3f2a… of resources/fs.directory_…/data)`. */
  label: string;
}

/** The entries the manifest declares, in archive order: each chunk once, where a list first names it. */
export function* entriesOf(m: Manifest): Generator<Entry> {
  const seen = new Set<string>();
  let index = 0;
  for (const o of m.objects) {
    if (o.kind === 'object') {
      yield { index, kind: 'object', hash: o.hash, size: o.size, name: o.name, label: `entry ${index} (object ${o.name})` };
      index++;
      continue;
    }
    for (const [hash, size] of o.chunks) {
      if (seen.has(hash)) continue;
      seen.add(hash);
      yield { index, kind: 'chunk', hash, size, name: o.name, label: `entry ${index} (chunk ${hash.slice(0, 12)}… of ${o.name})` };
      index++;
    }
  }
}

const aad = (e: Pick<Entry, 'index' | 'hash'>): Buffer => Buffer.from(`bulwark export entry ${e.index} ${e.hash}`);

export function sealEntry(plain: Buffer, e: Pick<Entry, 'index' | 'hash'>, key: Buffer): Buffer {
  const nonce = randomBytes(NONCE);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(aad(e));
  return Buffer.concat([nonce, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
}

/** The plaintext of an entry, or null when it is not the authentic entry at that place. */
export function openEntry(sealed: Buffer, e: Pick<Entry, 'index' | 'hash'>, key: Buffer): Buffer | null {
  if (sealed.length < NONCE + TAG) return null;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, NONCE));
    decipher.setAAD(aad(e));
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG));
    return Buffer.concat([decipher.update(sealed.subarray(NONCE, sealed.length - TAG)), decipher.final()]);
  } catch {
    return null;
  }
}

const HASH = /^[0-9a-f]{64}$/;
// eslint-disable-next-line no-control-regex -- control characters are what it refuses
const SEGMENT = /^[^\x00-\x1f\x7f\\]{1,255}$/;

/**
 * Why an object name cannot be stored under a checkpoint, or null: only the two places a checkpoint
 * keeps data, relative, no `..`, `.` or empty segments, nothing but plain characters.
 */
export function badObjectName(name: unknown): string | null {
  if (typeof name !== 'string' || name.length > 1024) return 'its name is not a string of at most 1024 characters';
  const parts = name.split('/');
  if (parts.some((p) => p === '.' || p === '..' || !SEGMENT.test(p)))
    return `its name "${name.slice(0, 200)}" has an empty, "." or ".." segment, or a control character or backslash`;
  if (parts[0] === 'resources' && parts.length >= 3) return null;
  if (parts[0] === 'saved-info' && parts.length === 2 && parts[1]!.endsWith('.json')) return null;
  return `its name "${name.slice(0, 200)}" is not under resources/ or saved-info/`;
}

const isSize = (n: unknown, max: number): n is number => Number.isSafeInteger(n) && (n as number) >= 0 && (n as number) <= max;

/**
 * Checks a signed manifest's shape (a trusted signer's software may still be another version, or
 * buggy): returns the first problem as [where, reason], or null.
 */
export function manifestProblem(m: unknown): [string, string] | null {
  const o = m as Partial<Manifest> | null;
  if (o === null || typeof o !== 'object') return ['the manifest', 'it is not an object'];
  if (o.format !== FORMAT || o.version !== 1)
    return ['the manifest', `format ${String(o.format)} version ${String(o.version)} is not one this build reads`];
  if (!o.kdf || o.kdf.name !== 'scrypt' || typeof o.kdf.salt !== 'string' || typeof o.key_check !== 'string')
    return ['the manifest', 'its export key parameters are missing'];
  if (!(
    Number.isSafeInteger(o.kdf.N) &&
    o.kdf.N >= 1024 &&
    o.kdf.N <= 1 << 20 &&
    o.kdf.r >= 1 &&
    o.kdf.r <= 32 &&
    o.kdf.p >= 1 &&
    o.kdf.p <= 16
  ))
    return ['the manifest', 'its scrypt parameters are out of bounds'];
  const c = o.checkpoint;
  if (
    !c ||
    typeof c.id !== 'string' ||
    !c.protection_plan ||
    typeof c.protection_plan.id !== 'string' ||
    !Array.isArray(c.protection_plan.resources)
  )
    return ['the manifest', 'its checkpoint record lacks an id or a plan'];
  if (typeof c.created_at !== 'string' || Number.isNaN(Date.parse(c.created_at)))
    return ['the manifest', 'its checkpoint has no valid created_at'];
  if (c.resource_graph !== null && (typeof c.resource_graph !== 'object' || !Array.isArray(c.resource_graph.nodes)))
    return ['the manifest', 'its resource graph is malformed'];
  if (!Array.isArray(o.objects)) return ['the manifest', 'it lists no objects'];
  const names = new Set<string>();
  const sizes = new Map<string, number>();
  for (const [i, obj] of o.objects.entries()) {
    const where = `manifest object ${i}`;
    const bad = badObjectName(obj?.name);
    if (bad) return [where, bad];
    if (names.has(obj.name)) return [where, `${obj.name} appears twice`];
    names.add(obj.name);
    if (obj.kind === 'object') {
      if (typeof obj.hash !== 'string' || !HASH.test(obj.hash) || !isSize(obj.size, MAX_OBJECT_BYTES))
        return [where, `${obj.name} has a malformed hash or a size over ${MAX_OBJECT_BYTES} bytes`];
    } else if (obj.kind === 'list') {
      if (!Array.isArray(obj.chunks)) return [where, `${obj.name} has no chunk list`];
      for (const pair of obj.chunks as unknown[]) {
        if (
          !Array.isArray(pair) ||
          pair.length !== 2 ||
          typeof pair[0] !== 'string' ||
          !HASH.test(pair[0]) ||
          !isSize(pair[1], MAX_CHUNK_BYTES)
        )
          return [where, `${obj.name} has a malformed chunk entry (or one over ${MAX_CHUNK_BYTES} bytes)`];
        const known = sizes.get(pair[0]);
        if (known !== undefined && known !== pair[1]) return [where, `chunk ${pair[0]} is declared with two sizes`];
        sizes.set(pair[0], pair[1] as number);
      }
    } else return [where, 'its kind is neither object nor list'];
  }
  return null;
}
