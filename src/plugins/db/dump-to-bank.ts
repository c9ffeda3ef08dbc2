/**
 * Streams a dump tool's stdout straight into a bank object: no temp file, constant memory, and the
 * bank's back-pressure reaches the tool through its stdout pipe. The bytes are hashed on the way. The
 * dump object becomes visible only if the tool exited 0 (the stream fails otherwise, and a failed
 * bank stream leaves no object); `meta.json` is written after it, last, so a section with a
 * `meta.json` always holds a complete dump.
 */
import { createHash } from 'node:crypto';
import type { BankSection, Progress, ProtectContext } from '../api.js';
import { bwkError } from '../../core/errors.js';
import { META_OBJECT, DUMP_META_MARK, encodeDumpMeta } from './dump-meta.js';
import type { DumpMeta } from './dump-meta.js';
import { describeExit, runTool, succeeded } from './run-tool.js';
import type { ToolExit } from './run-tool.js';

const PROGRESS_EVERY = 8 * 1024 * 1024;

export interface DumpSpec {
  bank: BankSection;
  signal: AbortSignal;
  progress?: (p: Progress) => void;
  /** The resource, as errors name it (`postgres.database main/app`). */
  label: string;
  /** The dump object's name in the section. */
  object: string;
  metaObject?: string;
  command: string;
  args: readonly string[];
  env: Record<string, string>;
  /** Scrubbed from any tool output that reaches an error. */
  secrets: readonly string[];
  /** The tool's `--version` line, recorded in meta.json. */
  toolVersion: string;
  /** Plugin facts for meta.json (server, database...); never secrets. */
  source: Record<string, unknown>;
}

/** The aborting signal's reason when it is an error (a cancellation, a task timeout), else null. */
export function abortError(signal: AbortSignal): Error | null {
  return signal.aborted && signal.reason instanceof Error ? signal.reason : null;
}

/** BWK_ERR_DUMP_FAILED with the tool's stderr tail (already scrubbed by runTool). */
export function dumpFailed(label: string, tool: string, exit: ToolExit): Error {
  const input = exit.inputError !== undefined ? ` (input: ${(exit.inputError as Error).message ?? String(exit.inputError)})` : '';
  return bwkError('BWK_ERR_DUMP_FAILED', { resource: label, tool, status: describeExit(exit) + input, stderr: exit.stderr || '(none)' });
}

/** Runs the dump tool into `spec.object`, then writes meta.json; returns the stored size and SHA-256. */
export async function dumpToBank(spec: DumpSpec): Promise<{ size: number; sha256: string; meta: DumpMeta }> {
  const metaObject = spec.metaObject ?? META_OBJECT;
  // A retried attempt must not leave an earlier attempt's meta vouching for this attempt's data.
  await spec.bank.delete(metaObject);
  spec.signal.throwIfAborted();
  const tool = runTool(spec.command, spec.args, { env: spec.env, signal: spec.signal, secrets: spec.secrets });
  const hash = createHash('sha256');
  let size = 0;
  let reported = 0;
  let toolError: Error | undefined;

  async function* output(): AsyncGenerator<Buffer> {
    let drained = false;
    try {
      for await (const chunk of tool.stdout as AsyncIterable<Buffer>) {
        hash.update(chunk);
        size += chunk.length;
        yield chunk;
        if (spec.progress && size - reported >= PROGRESS_EVERY) {
          reported = size;
          spec.progress({ done: size, unit: 'bytes' });
        }
      }
      drained = true;
    } finally {
      // The bank stopped pulling (its own failure): the tool must not stay blocked on a full pipe.
      if (!drained) tool.kill();
    }
    // Ending the stream only after a clean exit is what keeps a truncated dump from being published.
    const exit = await tool.exited;
    if (!succeeded(exit)) {
      toolError = abortError(spec.signal) ?? dumpFailed(spec.label, spec.command, exit);
      throw toolError;
    }
  }

  try {
    const stored = await spec.bank.putStream(spec.object, output());
    if (stored.size !== size)
      throw bwkError('BWK_ERR_BANK_IO', { key: spec.object, reason: `the bank stored ${stored.size} bytes of ${size} sent` });
  } catch (err) {
    tool.kill();
    // If the bank failed before pulling at all, nobody reads stdout: unread, it would keep the tool's 'close' from firing.
    tool.stdout.destroy();
    const exit = await tool.exited;
    // The bank must not keep a partial object, whichever side failed.
    await spec.bank.delete(spec.object).catch(() => undefined);
    if (toolError) throw toolError;
    // A stdout read error is the tool's failure; a bank error while the tool was fine is the bank's.
    if (!succeeded(exit) && !exit.aborted && exit.signal === null) throw dumpFailed(spec.label, spec.command, exit);
    throw abortError(spec.signal) ?? err;
  }
  const meta: DumpMeta = {
    ...DUMP_META_MARK,
    object: spec.object,
    size,
    sha256: hash.digest('hex'),
    tool: spec.command,
    tool_version: spec.toolVersion,
    created_at: new Date().toISOString(),
    source: spec.source,
  };
  await spec.bank.put(metaObject, encodeDumpMeta(meta));
  spec.progress?.({ done: size, total: size, unit: 'bytes' });
  return { size, sha256: meta.sha256, meta };
}

/** One dump as protect takes it: `source.format` is also what the checkpoint saves as the dump's format. */
export type ProtectDump = Omit<DumpSpec, 'bank' | 'signal' | 'progress'> & { source: { format: string } };

/**
 * Protect's whole work for one dump: dumpToBank into the resource's section, then the dump's size,
 * SHA-256 and format saved with the checkpoint, where restore and verify hold meta.json to them.
 */
export async function protectDump(ctx: ProtectContext, dump: ProtectDump): Promise<void> {
  const { size, sha256 } = await dumpToBank({ ...dump, bank: ctx.bank, signal: ctx.signal, progress: (p) => ctx.progress(p) });
  await ctx.saveInfo({ size, sha256, format: dump.source.format });
}
