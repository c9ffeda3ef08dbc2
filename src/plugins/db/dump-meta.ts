/**
 * `meta.json` of a dump stored in a bank section: written only after the dump tool exited 0 and the
 * dump object was stored whole, so its presence is what marks a complete dump. It records the dump's
 * size and SHA-256, which restore and verify check before trusting a byte of it, and is sealed with
 * its own SHA-256 (`meta_sha256`) so that no byte of it, descriptive fields included, changes unseen.
 */
import { createHash } from 'node:crypto';
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
const sha256Hex = (text: string): string => createHash('sha256').update(text).digest('hex');
/** How meta.json is laid out; a sealed one must be exactly this, so not even whitespace can change. */
const layout = (value: object): string => JSON.stringify(value, null, 2);
/** The fields of meta.json as builds before the seal wrote it: an unsealed one may hold nothing else. */
const UNSEALED_FIELDS = new Set(['format', 'version', 'object', 'size', 'sha256', 'tool', 'tool_version', 'created_at', 'source']);

/** The bytes of meta.json: `meta` plus `meta_sha256` over its compact JSON. */
export function encodeDumpMeta(meta: DumpMeta): string {
  return layout({ ...meta, meta_sha256: sha256Hex(JSON.stringify(meta)) });
}

/** Whether the parsed meta.json is intact: sealed and matching, or as an earlier build wrote it (unsealed, known fields only). */
function intact(raw: string, parsed: Record<string, unknown>): boolean {
  if (layout(parsed) !== raw) return false;
  const { meta_sha256: seal, ...body } = parsed;
  if (seal === undefined) return Object.keys(parsed).every((k) => UNSEALED_FIELDS.has(k));
  return typeof seal === 'string' && sha256Hex(JSON.stringify(body)) === seal;
}

/** Reads and checks `meta.json`; a missing or malformed one means the dump is unusable. */
export async function loadDumpMeta(bank: BankSection, label: string, metaObject = META_OBJECT): Promise<DumpMeta> {
  let raw: Buffer;
  try {
    raw = await bank.get(metaObject);
  } catch (err) {
    if (isBulwarkError(err, 'BWK_ERR_BANK_OBJECT_NOT_FOUND')) throw corrupt(label, `${metaObject} is missing: the dump never completed`);
    throw err;
  }
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
  } catch {
    throw corrupt(label, `${metaObject} is not valid JSON`);
  }
  if (parsed === null || typeof parsed !== 'object' || !intact(raw.toString('utf8'), parsed))
    throw corrupt(label, `${metaObject} does not match its own SHA-256`);
  const { meta_sha256: _seal, ...meta } = parsed as Partial<DumpMeta> & { meta_sha256?: unknown };
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
