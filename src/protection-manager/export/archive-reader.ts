/**
 * Reads an archive (archive-format.ts) as an import must: the signer's key first (refused unless
 * trusted), the signature before the manifest is parsed, the manifest's shape before any entry, and
 * each entry checked (authenticated, decrypted, hashed) before it is handed on. Every refusal names
 * the first bad place. Reads are positional, so an import can start at any entry.
 */
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { chunkId } from '../../bank/chunks/codec.js';
import { bwkError } from '../../core/errors.js';
import type { Entry, Manifest } from './archive-format.js';
import {
  MAGIC,
  MAX_MANIFEST_BYTES,
  PUBLIC_KEY_BYTES,
  SIGNATURE_BYTES,
  entriesOf,
  headerLength,
  manifestProblem,
  openEntry,
  sealedLength,
} from './archive-format.js';
import { publicKeyText, verifySignature } from './deployment-key.js';

export interface OpenedArchive {
  file: string;
  manifest: Manifest;
  publicKey: string;
  /** The signed header: its hash names the archive (an import resumes by it). */
  header: Buffer;
  /** Where the first entry starts, and the size every entry together must add up to. */
  entriesAt: number;
  size: number;
  read(at: number, length: number, where: string): Promise<Buffer>;
  close(): Promise<void>;
}

export const refused = (file: string, entry: string, reason: string): Error => bwkError('BWK_ERR_ARCHIVE_INVALID', { file, entry, reason });

async function readExactly(fh: FileHandle, file: string, at: number, length: number, where: string): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length);
  let got = 0;
  while (got < length) {
    const { bytesRead } = await fh.read(buf, got, length - got, at + got);
    if (bytesRead === 0) throw refused(file, where, `the archive ends ${length - got} bytes early (truncated)`);
    got += bytesRead;
  }
  return buf;
}

/** Opens an archive and checks its signature against `trusted` public keys, and its manifest's shape. */
export async function openArchive(file: string, trusted: readonly string[]): Promise<OpenedArchive> {
  let fh: FileHandle;
  try {
    fh = await open(file, 'r');
  } catch (err) {
    throw bwkError('BWK_ERR_INVALID_INPUT', { reason: `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}` });
  }
  try {
    const size = (await fh.stat()).size;
    const start = await readExactly(fh, file, 0, MAGIC.length + PUBLIC_KEY_BYTES + 4, 'the header');
    if (!start.subarray(0, MAGIC.length).equals(MAGIC)) throw refused(file, 'the header', 'it is not a Bulwark checkpoint archive');
    const publicKey = publicKeyText(start.subarray(MAGIC.length, MAGIC.length + PUBLIC_KEY_BYTES));
    if (!trusted.includes(publicKey)) throw bwkError('BWK_ERR_ARCHIVE_UNTRUSTED', { file, public_key: publicKey });
    const length = start.readUInt32BE(MAGIC.length + PUBLIC_KEY_BYTES);
    if (length > MAX_MANIFEST_BYTES || headerLength(length) + SIGNATURE_BYTES > size)
      throw refused(
        file,
        'the header',
        `it declares a manifest of ${length} bytes, more than the archive (or ${MAX_MANIFEST_BYTES} bytes) holds`,
      );
    const manifestBytes = await readExactly(fh, file, start.length, length, 'the manifest');
    const header = Buffer.concat([start, manifestBytes]);
    const signature = await readExactly(fh, file, header.length, SIGNATURE_BYTES, 'the signature');
    const raw = start.subarray(MAGIC.length, MAGIC.length + PUBLIC_KEY_BYTES);
    if (!verifySignature(raw, header, signature))
      throw refused(file, 'the signature', `it is not ${publicKey}'s signature of the header and manifest (altered)`);
    let manifest: Manifest;
    try {
      manifest = JSON.parse(manifestBytes.toString('utf8')) as Manifest;
    } catch {
      throw refused(file, 'the manifest', 'it is not JSON');
    }
    const problem = manifestProblem(manifest);
    if (problem) throw refused(file, problem[0], problem[1]);
    const entriesAt = header.length + SIGNATURE_BYTES;
    let expected = entriesAt;
    for (const e of entriesOf(manifest)) expected += sealedLength(e.size);
    if (size > expected) throw refused(file, 'the end', `${size - expected} bytes follow the last entry`);
    return {
      file,
      manifest,
      publicKey,
      header,
      entriesAt,
      size,
      read: (at, len, where) => readExactly(fh, file, at, len, where),
      close: () => fh.close(),
    };
  } catch (err) {
    await fh.close();
    throw err;
  }
}

/** One entry's plaintext, checked: authentic at its place, and of the declared hash and size. */
export async function readEntry(a: OpenedArchive, e: Entry, at: number, keys: { idKey: Buffer; encKey: Buffer }): Promise<Buffer> {
  const sealed = await a.read(at, sealedLength(e.size), e.label);
  const plain = openEntry(sealed, e, keys.encKey);
  if (plain === null) throw refused(a.file, e.label, 'it fails authentication (altered, or moved from another place)');
  if (plain.length !== e.size || chunkId(plain, keys.idKey) !== e.hash)
    throw refused(a.file, e.label, 'its content does not match its hash');
  return plain;
}
