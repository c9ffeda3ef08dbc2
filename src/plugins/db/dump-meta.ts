/**
 * `meta.json` of a dump stored in a bank section: written only after the dump tool exited 0 and the
 * dump object was stored whole, so its presence is what marks a complete dump. It records the dump's
 * size and SHA-256, which restore and verify check before trusting a byte of it.
 */
import type { BankSection } from '../api.js';
import { bwkError, isBulwarkError } from '../../core/errors.js';
import { hasMark, markName } from '../../common/format-mark.js';
import type { FormatMark } from '../../common/format-mark.js';

export const META_OBJECT = 'meta.json';
export const DUMP_META_MARK = { format: 'bulwark.db-dump', version: 1 } as const;

export interface DumpMeta extends FormatMark<typeof DUMP_META_MARK.format> {
  /** Name of the dump object in the section. */
  object: string;
  size: number;
  sha256: string;
  /** The tool that wrote it, and its `--version` line. */
  tool: string;
  tool_version: string;
  created_at: string;
  /** Plugin-specific facts (server, database, encoding...). */
  source: Record<string, unknown>;
}

/** BWK_ERR_DATA_CORRUPT naming the resource. */
export function corrupt(label: string, reason: string): Error {
  return bwkError('BWK_ERR_DATA_CORRUPT', { resource: label, reason });
}

const isHex64 = (v: unknown): v is string => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v);

/** Reads and checks `meta.json`; a missing or malformed one means the dump is unusable. */
export async function loadDumpMeta(bank: BankSection, label: string, metaObject = META_OBJECT): Promise<DumpMeta> {
  let raw: Buffer;
  try {
    raw = await bank.get(metaObject);
  } catch (err) {
    if (isBulwarkError(err, 'BWK_ERR_BANK_OBJECT_NOT_FOUND')) throw corrupt(label, `${metaObject} is missing: the dump never completed`);
    throw err;
  }
  let meta: Partial<DumpMeta>;
  try {
    meta = JSON.parse(raw.toString('utf8')) as Partial<DumpMeta>;
  } catch {
    throw corrupt(label, `${metaObject} is not valid JSON`);
  }
  if (!hasMark(meta, DUMP_META_MARK)) {
    throw corrupt(label, `${metaObject} is not a ${markName(DUMP_META_MARK)} record`);
  }
  if (
    typeof meta.object !== 'string' ||
    meta.object === '' ||
    !Number.isSafeInteger(meta.size) ||
    (meta.size ?? -1) < 0 ||
    !isHex64(meta.sha256)
  ) {
    throw corrupt(label, `${metaObject} lacks a valid object name, size or SHA-256`);
  }
  return meta as DumpMeta;
}

/**
 * meta.json of a section that must hold the dump `object`. meta.json sits beside the dump; the
 * checkpoint's saved info (written by protect, kept apart) must agree with it, so rewriting both the
 * dump and its meta.json does not go unnoticed.
 */
export async function loadSavedDumpMeta(
  bank: BankSection,
  label: string,
  object: string,
  savedInfo: Record<string, unknown> | null,
): Promise<DumpMeta> {
  const meta = await loadDumpMeta(bank, label);
  if (meta.object !== object) throw corrupt(label, `meta.json names object "${meta.object}", expected "${object}"`);
  if (savedInfo !== null && (savedInfo.sha256 !== meta.sha256 || savedInfo.size !== meta.size)) {
    throw corrupt(label, 'meta.json does not match the size and SHA-256 saved with the checkpoint');
  }
  return meta;
}
