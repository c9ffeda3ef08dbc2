/**
 * Keys of an encrypted bank. The operator's secret (a passphrase from an environment variable or the
 * bytes of a key file) goes through scrypt with the bank's salt to a master key; HKDF derives one
 * subkey per purpose from it, so the chunk-id key, the encryption key and the key check never share
 * a key. The secret itself never leaves this module.
 */
import { hkdfSync, randomBytes, scrypt } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Blake3Hasher } from '@napi-rs/blake-hash';
import { bwkError } from '../../core/errors.js';

/** Where the operator keeps the secret: never in a file Bulwark writes, never on a command line. */
export interface EncryptionSpec {
  passphrase_env?: string;
  key_file?: string;
}

export interface KdfParams {
  name: 'scrypt';
  /** CPU/memory cost: 2^15 takes ~0.1 s and 32 MiB, once per process and bank. */
  N: number;
  r: number;
  p: number;
  salt: string;
}

export interface BankKeys {
  /** Keys BLAKE3 so chunk ids reveal nothing about content to someone without the key. */
  idKey: Buffer;
  /** AES-256-GCM key for chunks and every other object the store encrypts. */
  encKey: Buffer;
  /** A value recorded in the bank's config: a wrong key is refused before anything is read or written. */
  check: string;
}

export const newKdfParams = (): KdfParams => ({ name: 'scrypt', N: 1 << 15, r: 8, p: 1, salt: randomBytes(32).toString('base64') });

/** Reads the secret an EncryptionSpec names; errors say what to set, never what was read. */
export async function readSecret(spec: EncryptionSpec, bank: string): Promise<Buffer> {
  if (spec.passphrase_env !== undefined) {
    const value = process.env[spec.passphrase_env];
    if (value === undefined || value === '') {
      throw bwkError('BWK_ERR_BANK_KEY_REQUIRED', { bank: `${bank} (environment variable ${spec.passphrase_env} is not set)` });
    }
    return Buffer.from(value, 'utf8');
  }
  if (spec.key_file !== undefined) {
    let bytes: Buffer;
    try {
      bytes = await readFile(spec.key_file);
    } catch (err) {
      throw bwkError('BWK_ERR_BANK_KEY_REQUIRED', {
        bank: `${bank} (key file ${spec.key_file} cannot be read: ${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      });
    }
    if (bytes.length < 16)
      throw bwkError('BWK_ERR_BANK_KEY_REQUIRED', { bank: `${bank} (key file ${spec.key_file} holds fewer than 16 bytes)` });
    return bytes;
  }
  throw bwkError('BWK_ERR_BANK_KEY_REQUIRED', { bank });
}

function scryptAsync(secret: Buffer, kdf: KdfParams): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(
      secret,
      Buffer.from(kdf.salt, 'base64'),
      32,
      { N: kdf.N, r: kdf.r, p: kdf.p, maxmem: 256 * kdf.N * kdf.r + (1 << 20) },
      (err, key) => (err ? reject(err) : resolve(key)),
    );
  });
}

const subkey = (master: Buffer, purpose: string): Buffer =>
  Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), `bulwark ${purpose}`, 32));

export async function deriveKeys(secret: Buffer, kdf: KdfParams): Promise<BankKeys> {
  const master = await scryptAsync(secret, kdf);
  const checkKey = subkey(master, 'key check');
  return {
    idKey: subkey(master, 'chunk id'),
    encKey: subkey(master, 'encryption'),
    check: Blake3Hasher.newKeyed(checkKey).update('bulwark bank key check v1').digest('hex'),
  };
}
