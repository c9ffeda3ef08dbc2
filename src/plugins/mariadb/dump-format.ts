/**
 * A cheap structural check of a stored mariadb-dump, done in the same pass as the hash check: the dump
 * must begin with mariadb-dump's header and end with the `-- Dump completed` trailer it writes only
 * after the last object. A dump that hashes right but lacks either was never a whole mariadb-dump.
 */
import { verifiedDump } from '../db/bank-to-tool.js';
import type { StoredDump } from '../db/bank-to-tool.js';
import { corrupt } from '../db/dump-meta.js';

/** Bytes kept from each end of the dump: the header and the trailer are short lines. */
const EDGE_BYTES = 1024;

/** Recent mariadb-dump versions start with this line, which makes the `mariadb` client refuse shell escapes. */
const SANDBOX_LINE = /^\/\*M?!999999\\- enable the sandbox mode \*\/ *$/;
const HEADER_LINE = /^-- (MariaDB|MySQL) dump /;
const TRAILER_LINE = /^-- Dump completed( on .*)?$/;

/** Whether `head` (the dump's first bytes) opens with mariadb-dump's header. */
export function hasDumpHeader(head: string): boolean {
  const lines = head.split('\n');
  const first = SANDBOX_LINE.test(lines[0] ?? '') ? lines[1] : lines[0];
  return HEADER_LINE.test(first ?? '');
}

/** Whether `tail` (the dump's last bytes) ends with mariadb-dump's trailer line. */
export function hasDumpTrailer(tail: string): boolean {
  const lines = tail
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l !== '');
  return TRAILER_LINE.test(lines.at(-1) ?? '');
}

/**
 * Reads the whole dump once: BWK_ERR_DATA_CORRUPT naming the resource unless it matches meta.json's
 * size and SHA-256 and has mariadb-dump's header and trailer.
 */
export async function checkSqlDump(d: StoredDump): Promise<void> {
  let head = Buffer.alloc(0);
  let tail = Buffer.alloc(0);
  for await (const chunk of verifiedDump(d)) {
    if (head.length < EDGE_BYTES) head = Buffer.concat([head, chunk.subarray(0, EDGE_BYTES - head.length)]);
    tail = Buffer.concat([tail, chunk]);
    if (tail.length > EDGE_BYTES) tail = tail.subarray(tail.length - EDGE_BYTES);
  }
  if (!hasDumpHeader(head.toString('utf8'))) throw corrupt(d.label, `${d.meta.object} does not begin with mariadb-dump's header`);
  if (!hasDumpTrailer(tail.toString('utf8')))
    throw corrupt(d.label, `${d.meta.object} does not end with mariadb-dump's "-- Dump completed" line: the dump is incomplete`);
}
