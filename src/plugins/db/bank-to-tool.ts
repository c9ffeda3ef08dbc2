/**
 * Reading a stored dump back: every path checks the bytes against meta.json's size and SHA-256, so a
 * corrupt dump is reported as BWK_ERR_DATA_CORRUPT naming the resource instead of being fed to a
 * restore as if it were good.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { BankSection, HookContext, Progress } from '../api.js';
import { isBulwarkError } from '../../core/errors.js';
import { corrupt } from './dump-meta.js';
import type { DumpMeta } from './dump-meta.js';
import { runToolCollect } from './run-tool.js';
import type { ToolExit, ToolOptions } from './run-tool.js';

const PROGRESS_EVERY = 8 * 1024 * 1024;

export interface StoredDump {
  bank: BankSection;
  meta: DumpMeta;
  /** The resource, as errors name it. */
  label: string;
  signal: AbortSignal;
  progress?: (p: Progress) => void;
}

/** The dump a restore or verify hook reads back, its progress reported to the hook (under `message`, if given). */
export function storedDump(ctx: HookContext, meta: DumpMeta, label: string, message?: string): StoredDump {
  return {
    bank: ctx.bank,
    meta,
    label,
    signal: ctx.signal,
    progress: (p) => ctx.progress(message === undefined ? p : { ...p, message }),
  };
}

/**
 * The dump's bytes, hashed as they pass; after the last byte (before the consumer sees the end) it
 * throws BWK_ERR_DATA_CORRUPT if the size or SHA-256 differs from meta.json.
 */
export async function* verifiedDump(d: StoredDump): AsyncGenerator<Buffer> {
  const stored = await d.bank.stat(d.meta.object);
  if (stored === null) throw corrupt(d.label, `${d.meta.object} is missing`);
  if (stored.size !== d.meta.size) throw corrupt(d.label, `${d.meta.object} holds ${stored.size} bytes, meta.json says ${d.meta.size}`);
  const hash = createHash('sha256');
  let size = 0;
  let reported = 0;
  const stream = await d.bank.getStream(d.meta.object);
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      d.signal.throwIfAborted();
      hash.update(chunk);
      size += chunk.length;
      yield chunk;
      if (d.progress && size - reported >= PROGRESS_EVERY) {
        reported = size;
        d.progress({ done: size, total: d.meta.size, unit: 'bytes' });
      }
    }
  } finally {
    stream.destroy();
  }
  if (size !== d.meta.size) throw corrupt(d.label, `${d.meta.object} ended after ${size} of ${d.meta.size} bytes`);
  if (hash.digest('hex') !== d.meta.sha256) throw corrupt(d.label, `${d.meta.object} does not match the SHA-256 recorded in meta.json`);
}

/** Reads the whole dump once and throws BWK_ERR_DATA_CORRUPT unless it matches meta.json. */
export async function checkDump(d: StoredDump): Promise<void> {
  for await (const _chunk of verifiedDump(d)) {
    /* hashing is the point */
  }
}

/**
 * Copies the dump to a private temp file (directory 0700, file 0600), checking it on the way, for
 * tools that need a seekable file (pg_restore --jobs). `dispose` removes it.
 */
export async function dumpToTempFile(d: StoredDump, fileName = 'dump'): Promise<{ path: string; dispose(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'bwk-dump-'));
  const dispose = (): Promise<void> => rm(dir, { recursive: true, force: true });
  const path = join(dir, fileName);
  try {
    await pipeline(verifiedDump(d), createWriteStream(path, { flags: 'wx', mode: 0o600 }), { signal: d.signal });
  } catch (err) {
    await dispose();
    throw err;
  }
  return { path, dispose };
}

/**
 * Runs a tool with the dump on its stdin (checked as it streams) and collects its stdout. A corrupt
 * dump throws BWK_ERR_DATA_CORRUPT (the tool is killed); any other outcome is returned for the
 * caller to judge, since what a failure means depends on the tool.
 */
export async function runToolOnDump(
  d: StoredDump,
  command: string,
  args: readonly string[],
  options: Omit<ToolOptions, 'stdin' | 'signal'>,
): Promise<{ stdout: Buffer; exit: ToolExit }> {
  const result = await runToolCollect(command, args, { ...options, signal: d.signal, stdin: verifiedDump(d) });
  if (isBulwarkError(result.exit.inputError, 'BWK_ERR_DATA_CORRUPT')) throw result.exit.inputError;
  return result;
}
