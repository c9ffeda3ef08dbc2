/**
 * The chunk store's configuration as the bank records it (`chunks/config.json`): the chunker
 * parameters every writer must share for deduplication to work, and, on an encrypted bank, the KDF
 * salt and a key check. Secrets are never in it. It is written once, by whoever writes to the bank
 * first, under a lease so two first writers cannot record two salts.
 */
import type { BankPlugin, Lease } from '../port.js';
import { CHUNK_CONFIG } from '../layout.js';
import { bwkError, isBulwarkError } from '../../core/errors.js';
import { hasMark, markName } from '../../common/format-mark.js';
import type { FormatMark } from '../../common/format-mark.js';
import { DEFAULT_CHUNKER, chunkerParamsProblem } from './fastcdc.js';
import type { ChunkerParams } from './fastcdc.js';
import { deriveKeys, newKdfParams, readSecret } from './keys.js';
import type { BankKeys, EncryptionSpec, KdfParams } from './keys.js';

const STORE_MARK = { format: 'bulwark.chunk-store', version: 1 } as const;

export interface StoredConfig extends FormatMark<typeof STORE_MARK.format> {
  chunker: ChunkerParams;
  encryption: null | { cipher: 'aes-256-gcm'; id_hash: 'blake3-keyed'; kdf: KdfParams; key_check: string };
}

/** What the provider file says about a bank's chunk store (bank.encryption, bank.compression, bank.chunking). */
export interface ChunkStoreSpec {
  encryption?: EncryptionSpec;
  compression?: { level?: number };
  chunking?: { min_size?: number; avg_size?: number; max_size?: number };
  /** Pack target size in bytes; chunks are appended to a pack until it reaches this. */
  pack_size?: number;
  /** Codec worker threads; default one per core. */
  workers?: number;
}

export interface OpenedConfig {
  config: StoredConfig;
  keys: BankKeys | null;
}

const INIT_LEASE = 'chunk-store-init';

function chunkerOf(spec: ChunkStoreSpec): ChunkerParams {
  const c = spec.chunking ?? {};
  const params = {
    minSize: c.min_size ?? DEFAULT_CHUNKER.minSize,
    avgSize: c.avg_size ?? DEFAULT_CHUNKER.avgSize,
    maxSize: c.max_size ?? DEFAULT_CHUNKER.maxSize,
  };
  const problem = chunkerParamsProblem(params);
  if (problem !== null) throw bwkError('BWK_ERR_INVALID_INPUT', { reason: `bank.chunking: ${problem}` });
  return params;
}

async function readConfig(bank: BankPlugin, label: string): Promise<StoredConfig | null> {
  let raw: Buffer;
  try {
    raw = await bank.getObject(CHUNK_CONFIG);
  } catch (err) {
    if (isBulwarkError(err, 'BWK_ERR_BANK_OBJECT_NOT_FOUND')) return null;
    throw err;
  }
  let c: StoredConfig;
  try {
    c = JSON.parse(raw.toString('utf8')) as StoredConfig;
  } catch {
    throw bwkError('BWK_ERR_DATA_CORRUPT', { resource: `bank ${label}`, reason: `${CHUNK_CONFIG} is not valid JSON` });
  }
  if (!hasMark(c, STORE_MARK) || chunkerParamsProblem(c.chunker ?? ({} as ChunkerParams)) !== null) {
    throw bwkError('BWK_ERR_DATA_CORRUPT', {
      resource: `bank ${label}`,
      reason: `${CHUNK_CONFIG} is not a ${markName(STORE_MARK)} record`,
    });
  }
  return c;
}

async function keysFor(config: StoredConfig, spec: ChunkStoreSpec, label: string): Promise<BankKeys | null> {
  if (config.encryption === null) {
    if (spec.encryption !== undefined) throw bwkError('BWK_ERR_BANK_NOT_ENCRYPTED', { bank: label });
    return null;
  }
  if (spec.encryption === undefined) throw bwkError('BWK_ERR_BANK_KEY_REQUIRED', { bank: label });
  const keys = await deriveKeys(await readSecret(spec.encryption, label), config.encryption.kdf);
  if (keys.check !== config.encryption.key_check) throw bwkError('BWK_ERR_BANK_KEY_WRONG', { bank: label });
  return keys;
}

const INIT_LEASE_TTL_MS = 60_000;

/**
 * The lease under which the config is created, or the config once another process has written it.
 * Two processes opening a new bank at once (two protection services given their first protects) are
 * normal: the second waits for the first rather than failing with BWK_ERR_LEASE_HELD.
 */
async function initLease(bank: BankPlugin, label: string): Promise<{ lease: Lease } | { config: StoredConfig }> {
  const deadline = Date.now() + 2 * INIT_LEASE_TTL_MS;
  for (;;) {
    try {
      return { lease: await bank.acquireLease(INIT_LEASE, INIT_LEASE_TTL_MS, { purpose: 'creating the chunk store config' }) };
    } catch (err) {
      if (!isBulwarkError(err, 'BWK_ERR_LEASE_HELD') || Date.now() > deadline) throw err;
    }
    await new Promise((r) => setTimeout(r, 50 + Math.random() * 100));
    const config = await readConfig(bank, label);
    if (config !== null) return { config };
  }
}

/**
 * Reads the bank's chunk-store config, creating it on first use from `spec`; derives the keys and
 * refuses a missing or wrong key, or a key for a bank that was created unencrypted.
 */
export async function openConfig(bank: BankPlugin, spec: ChunkStoreSpec, label: string): Promise<OpenedConfig> {
  const existing = await readConfig(bank, label);
  if (existing !== null) return { config: existing, keys: await keysFor(existing, spec, label) };
  const chunker = chunkerOf(spec);
  const waited = await initLease(bank, label);
  // Another process created the config while this one waited for its lease.
  if ('config' in waited) return { config: waited.config, keys: await keysFor(waited.config, spec, label) };
  const { lease } = waited;
  try {
    const raced = await readConfig(bank, label);
    if (raced !== null) return { config: raced, keys: await keysFor(raced, spec, label) };
    let encryption: StoredConfig['encryption'] = null;
    let keys: BankKeys | null = null;
    if (spec.encryption !== undefined) {
      const kdf = newKdfParams();
      keys = await deriveKeys(await readSecret(spec.encryption, label), kdf);
      encryption = { cipher: 'aes-256-gcm', id_hash: 'blake3-keyed', kdf, key_check: keys.check };
    }
    const config: StoredConfig = { ...STORE_MARK, chunker, encryption };
    await bank.putObject(CHUNK_CONFIG, JSON.stringify(config, null, 2));
    return { config, keys };
  } finally {
    await bank.releaseLease(lease);
  }
}
