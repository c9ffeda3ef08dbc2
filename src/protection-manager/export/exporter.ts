/**
 * `checkpoint export`: writes a checkpoint of a provider's bank as one signed archive
 * (archive-format.ts). Two passes over the checkpoint's data: the first hashes every chunk for the
 * manifest (which comes first in the file and is signed), the second encrypts and writes them. Memory
 * holds the chunk lists and one chunk id per distinct chunk, never the data. The file appears under its
 * name only once complete (it is written as `<file>.partial`, then renamed).
 */
import { open, rename, rm } from 'node:fs/promises';
import { checkpointIndexKey, checkpointPrefix } from '../../bank/layout.js';
import { isChunkList } from '../../bank/chunks/chunk-list.js';
import { chunkId } from '../../bank/chunks/codec.js';
import { deriveKeys, newKdfParams } from '../../bank/chunks/keys.js';
import type { ChunkStore } from '../../bank/chunks/store.js';
import { corruptError } from '../../bank/chunks/store.js';
import type { CheckpointRecord } from '../../checkpoints/model.js';
import { PRIVATE_FILE_MODE } from '../../common/private-files.js';
import type { ChunkRef } from '../../plugins/api.js';
import type { Manifest, ManifestObject } from './archive-format.js';
import { FORMAT, SIGNATURE_BYTES, entriesOf, sealEntry, signedHeader } from './archive-format.js';
import type { DeploymentKey } from './deployment-key.js';
import { publicKeyBytes } from './deployment-key.js';

export interface ExportInput {
  store: ChunkStore;
  checkpoint: CheckpointRecord;
  plan: Manifest['plan'];
  out: string;
  passphrase: Buffer;
  key: DeploymentKey;
}

export interface ExportReport {
  file: string;
  checkpoint_id: string;
  public_key: string;
  bytes: number;
  objects: number;
  chunks: number;
}

interface Source {
  key: string;
  name: string;
  /** Chunk lists: the source bank's refs. */
  refs?: ChunkRef[];
}

/** Pass one: every object and list, with hashes under the export key. */
async function describe(input: ExportInput, idKey: Buffer, label: string): Promise<{ objects: ManifestObject[]; sources: Source[] }> {
  const { store, checkpoint } = input;
  const prefix = checkpointPrefix(checkpoint.id);
  const record = checkpointIndexKey(checkpoint.id);
  const hashOf = new Map<string, string>();
  const objects: ManifestObject[] = [];
  const sources: Source[] = [];
  for (const key of (await store.bank.listObjects(prefix)).filter((k) => k !== record)) {
    const name = key.slice(prefix.length);
    const plain = await store.getSealed(key);
    if (!isChunkList(plain)) {
      objects.push({ name, kind: 'object', hash: chunkId(plain, idKey), size: plain.length });
      sources.push({ key, name });
      continue;
    }
    const refs = (await store.resolveList(plain, label, name)).chunks;
    const unseen = [...new Map(refs.filter((r) => !hashOf.has(r.id)).map((r) => [r.id, r])).values()];
    let i = 0;
    for await (const data of store.read(unseen, label)) hashOf.set(unseen[i++]!.id, chunkId(data, idKey));
    objects.push({ name, kind: 'list', chunks: refs.map((r) => [hashOf.get(r.id)!, r.size]) });
    sources.push({ key, name, refs });
  }
  return { objects, sources };
}

export async function exportCheckpoint(input: ExportInput): Promise<ExportReport> {
  const { store, checkpoint } = input;
  const label = `checkpoint ${checkpoint.id}`;
  const kdf = newKdfParams();
  const keys = await deriveKeys(input.passphrase, kdf);
  const { objects, sources } = await describe(input, keys.idKey, label);
  const manifest: Manifest = {
    format: FORMAT,
    version: 1,
    exported_at: new Date().toISOString(),
    kdf,
    key_check: keys.check,
    checkpoint,
    plan: input.plan,
    objects,
  };
  const header = signedHeader(publicKeyBytes(input.key.publicKey), Buffer.from(JSON.stringify(manifest)));
  const signature = input.key.sign(header);
  if (signature.length !== SIGNATURE_BYTES) throw new Error('an Ed25519 signature is 64 bytes');

  const partial = `${input.out}.partial`;
  const fh = await open(partial, 'w', PRIVATE_FILE_MODE);
  let bytes = 0;
  const write = async (b: Buffer): Promise<void> => {
    await fh.write(b);
    bytes += b.length;
  };
  try {
    await write(header);
    await write(signature);
    const entries = entriesOf(manifest);
    const written = new Set<string>();
    for (const s of sources) {
      if (!s.refs) {
        const e = entries.next().value!;
        const plain = await store.getSealed(s.key);
        if (chunkId(plain, keys.idKey) !== e.hash) throw corruptError(label, `${s.name} changed while it was exported`);
        await write(sealEntry(plain, e, keys.encKey));
        continue;
      }
      const fresh = [...new Map(s.refs.filter((r) => !written.has(r.id)).map((r) => [r.id, r])).values()];
      for await (const data of store.read(fresh, label)) {
        const e = entries.next().value!;
        if (chunkId(data, keys.idKey) !== e.hash) throw corruptError(label, `a chunk of ${s.name} changed while it was exported`);
        await write(sealEntry(data, e, keys.encKey));
      }
      for (const r of fresh) written.add(r.id);
    }
    if (!entries.next().done) throw corruptError(label, 'the checkpoint changed while it was exported');
    await fh.sync();
  } catch (err) {
    await fh.close().catch(() => undefined);
    await rm(partial, { force: true });
    throw err;
  }
  await fh.close();
  await rename(partial, input.out);
  const chunks = new Set(objects.flatMap((o) => (o.kind === 'list' ? o.chunks.map(([h]) => h) : []))).size;
  return { file: input.out, checkpoint_id: checkpoint.id, public_key: input.key.publicKey, bytes, objects: objects.length, chunks };
}
