/**
 * `checkpoint import`: an archive (archive-format.ts) into a provider's bank, as a new checkpoint.
 *
 * Pass one reads every entry and checks it (signature, authentication, hash) writing nothing: a
 * tampered or truncated archive is refused naming the first bad entry, and neither the bank nor the
 * home has changed. Pass two stores the entries in batches; after each batch is durable in the bank
 * (and read back) a journal line in the home records which chunks it holds and where the next entry
 * starts, so an import cut midway resumes there without reading again what it imported. The
 * checkpoint is `copying` while pass two runs and `available` once every list and record is written.
 */
import { createHash } from 'node:crypto';
import { appendFile, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { checkpointPrefix } from '../../bank/layout.js';
import { deriveKeys } from '../../bank/chunks/keys.js';
import { CheckpointCollection } from '../../checkpoints/collection.js';
import type { CheckpointRecord } from '../../checkpoints/model.js';
import type { BulwarkConfig } from '../../common/config.js';
import { derivedId, nowIso } from '../../common/ids.js';
import type { Logger } from '../../common/logging.js';
import { PRIVATE_FILE_MODE, makePrivateDir } from '../../common/private-files.js';
import { bwkError, reasonOf } from '../../core/errors.js';
import type { ChunkRef } from '../../plugins/api.js';
import type { Provider } from '../../providers/registry.js';
import { operationLeaseOwner } from '../../bank/layout.js';
import { holdLease } from '../checkpoint-copy.js';
import { removeOrphanPacks, transferTag } from '../../bank/transfer.js';
import type { Entry } from './archive-format.js';
import { entriesOf, sealedLength } from './archive-format.js';
import type { OpenedArchive } from './archive-reader.js';
import { openArchive, readEntry } from './archive-reader.js';

/** Chunks stored between two journal lines: what an import cut midway reads again at most. */
const BATCH_BYTES = 64 * 1024 * 1024;

export interface ImportInput {
  file: string;
  provider: Provider;
  /** Public keys whose archives are accepted (the home's own and --trust-key ones). */
  trusted: string[];
  passphrase: Buffer;
  /** The environment variable the passphrase came from, for messages. */
  passphraseVariable: string;
  home: string;
  projectId: string;
  config: BulwarkConfig;
  logger: Logger;
  /** Plaintext bytes of chunks per journal line (default 64 MiB). */
  batchBytes?: number;
}

export interface ImportReport {
  checkpoint: CheckpointRecord;
  /** Entries read and checked by pass one (0 when an earlier run had checked them). */
  entries_checked: number;
  /** Entries pass two read, and those an earlier run had already imported (not read again). */
  entries_imported: number;
  entries_resumed: number;
  /** Whether the checkpoint was already imported (nothing was read beyond the manifest). */
  already_imported: boolean;
}

interface Journal {
  verified: boolean;
  chunks: Map<string, ChunkRef>;
  /** The first entry not yet imported, and its offset. */
  next: number;
  at: number;
}

type Keys = { idKey: Buffer; encKey: Buffer; check: string };

async function readJournal(path: string, entriesAt: number): Promise<Journal> {
  const j: Journal = { verified: false, chunks: new Map(), next: 0, at: entriesAt };
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return j;
    throw err;
  }
  // A line cut by a crash is the last one, and only ever half of a batch not yet recorded: ignored.
  for (const line of text.split('\n')) {
    let o: { verified?: boolean; batch?: [string, string, number][]; next?: number; at?: number };
    try {
      o = JSON.parse(line) as typeof o;
    } catch {
      continue;
    }
    if (o.verified === true) j.verified = true;
    if (Array.isArray(o.batch) && typeof o.next === 'number' && typeof o.at === 'number') {
      for (const [hash, id, size] of o.batch) j.chunks.set(hash, { id, size });
      j.next = o.next;
      j.at = o.at;
    }
  }
  return j;
}

/** Pass one: every entry read and checked, nothing written. */
async function checkEntries(a: OpenedArchive, keys: Keys): Promise<number> {
  let at = a.entriesAt;
  let n = 0;
  for (const e of entriesOf(a.manifest)) {
    await readEntry(a, e, at, keys);
    at += sealedLength(e.size);
    n++;
  }
  return n;
}

function importedRecord(a: OpenedArchive, id: string, input: ImportInput): CheckpointRecord {
  const c = a.manifest.checkpoint;
  const planId = derivedId('bulwark imported plan', c.protection_plan.id, a.publicKey, input.provider.id);
  return {
    id,
    project_id: input.projectId,
    provider_id: input.provider.id,
    status: 'copying',
    protection_plan: { id: planId, name: c.protection_plan.name, resources: c.protection_plan.resources },
    resource_graph: c.resource_graph,
    created_at: new Date(c.created_at).toISOString(),
    updated_at: nowIso(),
    extra_info: {
      ...(c.extra_info?.resources_status ? { resources_status: c.extra_info.resources_status } : {}),
      imported_from: {
        checkpoint_id: c.id,
        plan_id: c.protection_plan.id,
        provider_id: c.provider_id,
        project_id: c.project_id,
        public_key: a.publicKey,
        exported_at: a.manifest.exported_at,
        ...(a.manifest.plan ? { plan: a.manifest.plan } : {}),
      },
    },
  };
}

export async function importArchive(input: ImportInput): Promise<ImportReport> {
  const a = await openArchive(input.file, input.trusted);
  try {
    const m = a.manifest;
    const keys = await deriveKeys(input.passphrase, m.kdf);
    if (keys.check !== m.key_check)
      throw bwkError('BWK_ERR_EXPORT_PASSPHRASE_WRONG', { variable: input.passphraseVariable, file: input.file });
    const digest = createHash('sha256').update(a.header).digest('hex');
    const id = derivedId('bulwark checkpoint import', digest, input.provider.id);
    const target = input.provider;
    const checkpoints = new CheckpointCollection(target.bank);
    const existing = await checkpoints.get(id, null);
    if (existing?.status === 'available')
      return { checkpoint: existing, entries_checked: 0, entries_imported: 0, entries_resumed: 0, already_imported: true };
    if (existing && existing.status !== 'copying' && existing.status !== 'error')
      throw bwkError('BWK_ERR_CHECKPOINT_STATE', { id, status: existing.status, action: 'import into', allowed: 'copying, error' });

    const dir = join(input.home, 'imports');
    const journalPath = join(dir, `${id}.jsonl`);
    const journal = await readJournal(journalPath, a.entriesAt);
    let checked = 0;
    if (!journal.verified) {
      checked = await checkEntries(a, keys);
      makePrivateDir(dir);
      await appendFile(journalPath, `${JSON.stringify({ verified: true, archive: digest })}\n`, { mode: PRIVATE_FILE_MODE });
    }
    await target.chunks.ready();
    const lost = new AbortController();
    const lease = await holdLease(
      target.bank,
      operationLeaseOwner(id),
      { kind: 'copy', operationId: id, projectId: input.projectId, providerId: target.id, checkpointId: id, role: 'target' },
      input,
      lost,
    );
    try {
      // A run killed between storing a pack and its index left that pack unreachable: it goes first.
      if (existing) await removeOrphanPacks(target.chunks, transferTag(id));
      if (!existing) await checkpoints.create(importedRecord(a, id, input));
      else if (existing.status === 'error')
        await checkpoints.update(id, () => ({ status: 'copying', extra_info: { reason: undefined } }), 'import');
      let imported: number;
      try {
        imported = await storeEntries(a, keys, journal, journalPath, id, target, lost.signal, input.batchBytes ?? BATCH_BYTES);
        await storeLists(a, journal, id, target);
      } catch (err) {
        const cause = lost.signal.aborted ? lost.signal.reason : err;
        await checkpoints
          .update(id, () => ({ status: 'error', extra_info: { reason: reasonOf(cause), finished_at: nowIso() } }), 'import')
          .catch(() => undefined);
        throw cause;
      }
      const stats = { entries_checked: checked, entries_imported: imported, entries_resumed: journal.next };
      const record = await checkpoints.update(id, () => ({ status: 'available', extra_info: { finished_at: nowIso() } }), 'import');
      await rm(journalPath, { force: true });
      input.logger.info('checkpoint imported', { file: input.file, checkpoint: id, from: m.checkpoint.id, ...stats });
      return { checkpoint: record, ...stats, already_imported: false };
    } finally {
      await lease.release();
    }
  } finally {
    await a.close();
  }
}

/** Pass two: objects and chunks from the journal's resume point on; returns how many entries it read. */
async function storeEntries(
  a: OpenedArchive,
  keys: Keys,
  journal: Journal,
  journalPath: string,
  id: string,
  target: Provider,
  signal: AbortSignal,
  batchBytes: number,
): Promise<number> {
  const store = target.chunks;
  const label = `import of ${a.file}`;
  const prefix = checkpointPrefix(id);
  let writer = await store.writer(undefined, transferTag(id));
  let pending: Entry[] = [];
  let pendingBytes = 0;
  let at = a.entriesAt;
  let read = 0;
  const commit = async (next: number, nextAt: number): Promise<void> => {
    const refs = await writer.finish();
    await store.ensureLive(refs, label);
    // Verified on arrival: what this batch stored is read back from the bank and checked.
    const fresh = [...new Map(refs.filter((r) => writer.stored.has(r.id)).map((r) => [r.id, r])).values()];
    for await (const _ of store.read(fresh, label)) void _;
    const batch = pending.map((e, i): [string, string, number] => [e.hash, refs[i]!.id, refs[i]!.size]);
    for (const [hash, cid, size] of batch) journal.chunks.set(hash, { id: cid, size });
    await appendFile(journalPath, `${JSON.stringify({ batch, next, at: nextAt })}\n`, { mode: PRIVATE_FILE_MODE });
    pending = [];
    pendingBytes = 0;
    writer = await store.writer(undefined, transferTag(id));
  };
  let last = 0;
  for (const e of entriesOf(a.manifest)) {
    const length = sealedLength(e.size);
    last = e.index + 1;
    if (e.index < journal.next) {
      at += length;
      continue;
    }
    signal.throwIfAborted();
    const plain = await readEntry(a, e, at, keys);
    read++;
    at += length;
    if (e.kind === 'object') {
      const key = prefix + e.name;
      if ((await target.bank.statObject(key)) === null) await store.putSealed(key, plain);
    } else if (!journal.chunks.has(e.hash)) {
      await writer.writeChunk(plain);
      pending.push(e);
      pendingBytes += e.size;
      if (pendingBytes >= batchBytes) await commit(e.index + 1, at);
    }
  }
  if (read > 0 || pending.length > 0) await commit(last, at);
  else await writer.finish();
  return read;
}

/** The chunk lists, in the target's ids; a list already written by an earlier run is kept. */
async function storeLists(a: OpenedArchive, journal: Journal, id: string, target: Provider): Promise<void> {
  const prefix = checkpointPrefix(id);
  for (const o of a.manifest.objects) {
    if (o.kind !== 'list') continue;
    const key = prefix + o.name;
    if ((await target.bank.statObject(key)) !== null) continue;
    const refs = o.chunks.map(([hash]) => {
      const ref = journal.chunks.get(hash);
      if (!ref) throw bwkError('BWK_ERR_INTERNAL', { reason: `import: chunk ${hash} of ${o.name} was not stored` });
      return ref;
    });
    await target.chunks.putList(key, refs, `import of ${a.file}`);
  }
}
