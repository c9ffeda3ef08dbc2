import { createHash, randomUUID } from 'node:crypto';
import { bwkError } from '../core/errors.js';

export const DEFAULT_PROJECT = 'default';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Every plan, checkpoint, restore and verification id is a UUID: Karbor's client refuses anything else. */
export function newId(): string {
  return randomUUID();
}

/**
 * A UUID (version 5 layout, RFC 9562) that `parts` always give: an operation asked for again finds the
 * record its first run made (a copy of one checkpoint to one provider, an import of one archive).
 */
export function derivedId(...parts: string[]): string {
  const h = createHash('sha1').update(parts.join('\n')).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
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
