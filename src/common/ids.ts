import { randomUUID } from 'node:crypto';
import { bwkError } from '../core/errors.js';

export const DEFAULT_PROJECT = 'default';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Every plan, checkpoint, restore and verification id is a UUID: Karbor's client refuses anything else. */
export function newId(): string {
  return randomUUID();
}

export function isUuid(value: string): boolean {
  return UUID_RE.test(value);
}

export function assertUuid(kind: string, id: string): string {
  if (!isUuid(id)) throw bwkError('BWK_ERR_INVALID_ID', { kind, id });
  return id.toLowerCase();
}

/** ISO-8601 UTC with milliseconds, the form every record stores. */
export function nowIso(): string {
  return new Date().toISOString();
}

/**
 * A timestamp that sorts lexicographically in time order and is safe in a key:
 * 20261122T014700123Z. Used by bank indexes (`<ts>@<id>`).
 */
export function sortableTimestamp(date: Date): string {
  return date.toISOString().replace(/[-:.]/g, '');
}
