/**
 * A plugin's meta.json sealed with its own SHA-256 (`meta_sha256` over the body's compact JSON), so a
 * changed byte in it is caught like one in the data it describes. Written last by protect: its
 * absence means the checkpoint was not completed. Shared by the fs.directory and redis plugins.
 */
import { createHash } from 'node:crypto';
import type { BankSection } from './api.js';
import { bwkError } from '../core/errors.js';

const sha256Hex = (text: string): string => createHash('sha256').update(text).digest('hex');

/** The bytes to store: the body plus `meta_sha256`. */
export function sealMeta(body: object): string {
  return JSON.stringify({ ...body, meta_sha256: sha256Hex(JSON.stringify(body)) });
}

/**
 * Reads `name`, checks it is present, canonical JSON and matches its seal, and checks its format and
 * version; returns the body for the plugin's own field checks. Problems are BWK_ERR_DATA_CORRUPT
 * naming `label` (the resource).
 */
export async function readSealedMeta(
  bank: BankSection,
  name: string,
  label: string,
  format: { name: string; version: number },
): Promise<Record<string, unknown>> {
  const corrupt = (reason: string) => bwkError('BWK_ERR_DATA_CORRUPT', { resource: label, reason });
  if ((await bank.stat(name)) === null) throw corrupt(`${name} is missing: the checkpoint was not completed (protect it again)`);
  const raw = (await bank.get(name)).toString('utf8');
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(raw) as Record<string, unknown>;
  } catch {
    throw corrupt(`${name} is not valid JSON`);
  }
  const { meta_sha256: seal, ...body } = parsed;
  if (JSON.stringify(parsed) !== raw || typeof seal !== 'string' || sha256Hex(JSON.stringify(body)) !== seal) {
    throw corrupt(`${name} does not match its own SHA-256`);
  }
  if (body.format !== format.name || body.version !== format.version) {
    throw corrupt(`${name} describes format ${String(body.format)} v${String(body.version)}, expected ${format.name} v${format.version}`);
  }
  return body;
}
