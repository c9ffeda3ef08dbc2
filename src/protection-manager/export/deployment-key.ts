/**
 * The deployment's Ed25519 signing key: `bulwark key create` makes it, `checkpoint export` signs with
 * it, and the importing deployment trusts its public key (its own, and the ones given with
 * --trust-key). The private key lives in one private file of the home and is never printed, logged
 * or passed on a command line.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PRIVATE_FILE_MODE, makePrivateDir } from '../../common/private-files.js';
import { bwkError } from '../../core/errors.js';

export const DEPLOYMENT_KEY_FILE = 'deployment-key.pem';
const PREFIX = 'ed25519:';

export interface DeploymentKey {
  /** `ed25519:<base64url of the 32-byte public key>`: what `key show` prints and --trust-key takes. */
  publicKey: string;
  /** Signs `data` (Ed25519, 64 bytes). */
  sign(data: Buffer): Buffer;
}

export const keyFileOf = (home: string): string => join(home, DEPLOYMENT_KEY_FILE);

const publicText = (key: KeyObject): string => `${PREFIX}${(key.export({ format: 'jwk' }) as { x: string }).x}`;

/** The 32 raw bytes of a public key in its text form; BWK_ERR_INVALID_INPUT when it is not one. */
export function publicKeyBytes(text: string): Buffer {
  const raw = text.startsWith(PREFIX) ? Buffer.from(text.slice(PREFIX.length), 'base64url') : Buffer.alloc(0);
  if (raw.length !== 32 || `${PREFIX}${raw.toString('base64url')}` !== text)
    throw bwkError('BWK_ERR_INVALID_INPUT', {
      reason: `"${text.slice(0, 80)}" is not a public key of the form ed25519:<43 base64url characters>`,
    });
  return raw;
}

export const publicKeyText = (raw: Buffer): string => `${PREFIX}${raw.toString('base64url')}`;

/** Whether `signature` is `publicKey`'s over `data`. */
export function verifySignature(raw: Buffer, data: Buffer, signature: Buffer): boolean {
  const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
  return verify(null, data, key, signature);
}

/** Creates the home's key; refuses to replace one (archives signed with it would no longer verify). */
export async function createDeploymentKey(home: string): Promise<DeploymentKey> {
  makePrivateDir(home);
  const file = keyFileOf(home);
  const { privateKey } = generateKeyPairSync('ed25519');
  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
  try {
    await writeFile(file, pem, { mode: PRIVATE_FILE_MODE, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    throw bwkError('BWK_ERR_DEPLOYMENT_KEY_EXISTS', { file, public_key: (await readDeploymentKey(home)).publicKey });
  }
  return keyOf(privateKey);
}

function keyOf(privateKey: KeyObject): DeploymentKey {
  return { publicKey: publicText(createPublicKey(privateKey)), sign: (data) => sign(null, data, privateKey) };
}

/** The home's key; BWK_ERR_DEPLOYMENT_KEY_MISSING when there is none. */
export async function readDeploymentKey(home: string): Promise<DeploymentKey> {
  const file = keyFileOf(home);
  let pem: string;
  try {
    pem = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw bwkError('BWK_ERR_DEPLOYMENT_KEY_MISSING', { file });
    throw err;
  }
  const key = createPrivateKey(pem);
  if (key.asymmetricKeyType !== 'ed25519')
    throw bwkError('BWK_ERR_INVALID_INPUT', { reason: `${file} does not hold an Ed25519 private key` });
  return keyOf(key);
}

/** The home's public key, or null when it has no key yet. */
export async function ownPublicKey(home: string): Promise<string | null> {
  try {
    return (await readDeploymentKey(home)).publicKey;
  } catch (err) {
    if ((err as { code?: string }).code === 'BWK_ERR_DEPLOYMENT_KEY_MISSING') return null;
    throw err;
  }
}
