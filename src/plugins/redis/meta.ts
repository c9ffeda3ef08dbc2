/**
 * meta.json of a `redis.instance` checkpoint: what was protected (instance, db, server version) and
 * the count, size and SHA-256 of the `records` object, plus a SHA-256 of its own body. Protect writes
 * it last, so its presence marks a complete checkpoint.
 */
import { resourceRef, type BankSection } from '../api.js';
import { bwkError } from '../../core/errors.js';
import { readSealedMeta, sealMeta } from '../sealed-meta.js';
import type { BulwarkError } from '../../core/errors.js';
import { RECORDS_OBJECT, RecordReader } from './record-format.js';
import type { KeyRecord } from './record-format.js';

export const META_OBJECT = 'meta.json';
export const FORMAT_NAME = 'bulwark.redis.instance';
export const FORMAT_VERSION = 1;
export const RESOURCE_TYPE = 'redis.instance';

export interface MetaBody {
  format: string;
  version: number;
  instance: string;
  db: number;
  redis_version: string;
  records: { object: string; count: number; bytes: number; sha256: string };
  by_type: Record<string, number>;
  skipped: { vanished: number; expired: number };
}

/** `redis.instance#cache` — how every error names the resource. */
export const resourceLabel = (id: string): string => resourceRef({ type: RESOURCE_TYPE, id });

export function corrupt(label: string, reason: string): BulwarkError {
  return bwkError('BWK_ERR_DATA_CORRUPT', { resource: label, reason });
}

const isNat = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** meta.json bytes: the body sealed with its own SHA-256. */
export const encodeMeta = (body: MetaBody): string => sealMeta(body);

/** Reads and checks meta.json: present, canonical JSON, self-hash, known format, sane fields. */
export async function loadMeta(bank: BankSection, label: string): Promise<MetaBody> {
  const meta = (await readSealedMeta(bank, META_OBJECT, label, { name: FORMAT_NAME, version: FORMAT_VERSION })) as unknown as MetaBody;
  const r = meta.records;
  if (
    typeof r !== 'object' ||
    r === null ||
    r.object !== RECORDS_OBJECT ||
    !isNat(r.count) ||
    !isNat(r.bytes) ||
    typeof r.sha256 !== 'string' ||
    !isNat(meta.db)
  ) {
    throw corrupt(label, `${META_OBJECT} lacks the db or the count, size and SHA-256 of ${RECORDS_OBJECT}`);
  }
  return meta;
}

/**
 * Reads the whole `records` object, handing each record to `onRecord`, then checks the size, count and
 * SHA-256 against meta.json. Callers that must not act on corrupt data only act after this returns.
 */
export async function readCheckedRecords(
  bank: BankSection,
  meta: MetaBody,
  label: string,
  onRecord: (r: KeyRecord) => Promise<void> | void,
): Promise<void> {
  const stored = await bank.stat(RECORDS_OBJECT);
  if (stored === null) throw corrupt(label, `${RECORDS_OBJECT} is missing`);
  if (stored.size !== meta.records.bytes)
    throw corrupt(label, `${RECORDS_OBJECT} holds ${stored.size} bytes, ${META_OBJECT} says ${meta.records.bytes}`);
  const reader = new RecordReader(await bank.getStream(RECORDS_OBJECT), meta.records.bytes, (reason) => corrupt(label, reason));
  for await (const record of reader.records()) await onRecord(record);
  if (reader.bytes !== meta.records.bytes || reader.sha256() !== meta.records.sha256) {
    throw corrupt(label, `${RECORDS_OBJECT} does not match the size and SHA-256 recorded in ${META_OBJECT}`);
  }
  if (reader.count !== meta.records.count)
    throw corrupt(label, `${RECORDS_OBJECT} holds ${reader.count} records, ${META_OBJECT} says ${meta.records.count}`);
}
