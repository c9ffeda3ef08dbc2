/**
 * Runs a database client tool (pg_dump, pg_restore, psql, mysqldump...) as a child process: stdout is
 * handed to the caller as a stream (back-pressure reaches the tool through the pipe), stderr is kept
 * bounded (its last bytes are what explains a failure), an aborted signal kills the tool, and the exit
 * is reported as data, never thrown, so the caller decides what a failure means.
 */
import { spawn } from 'node:child_process';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** Bytes of stderr kept: the end of the output, where tools say why they stopped. */
export const STDERR_TAIL_BYTES = 8 * 1024;
/** After SIGTERM on abort, how long the tool gets before SIGKILL. */
const KILL_GRACE_MS = 5_000;

export interface ToolOptions {
  /** The child's whole environment: callers pass a minimal one (see toolEnv), never process.env. */
  env: Record<string, string>;
  /** Fed to the tool's stdin; without it stdin is /dev/null. */
  stdin?: Readable | AsyncIterable<Buffer> | Buffer | string;
  /** Aborting kills the tool (SIGTERM, then SIGKILL). */
  signal: AbortSignal;
  /** Values scrubbed from the reported stderr (passwords), whatever the tool printed. */
  secrets?: readonly string[];
}

export interface ToolExit {
  /** Exit code, or null when a signal ended the tool or it could not start. */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The last STDERR_TAIL_BYTES of stderr, secrets scrubbed, trimmed. */
  stderr: string;
  /** True when the tool was killed because the caller's signal aborted. */
  aborted: boolean;
  /** Why the tool could not be started (not installed...), if so. */
  spawnError?: string;
  /** An error of the stdin source (not the tool closing its stdin early); the tool was killed. */
  inputError?: unknown;
}

export interface ToolProcess {
  pid: number | undefined;
  /** The tool's stdout; the caller must consume it (or kill the tool), or the tool blocks. */
  stdout: Readable;
  /** Settles once the tool exited and its output pipes closed; never rejects. */
  exited: Promise<ToolExit>;
  /** Kills the tool now (SIGTERM, then SIGKILL after a grace period). */
  kill(): void;
}

/** Replaces every occurrence of each non-empty secret. */
export function scrub(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const s of secrets) if (s) out = out.split(s).join('[redacted]');
  return out;
}

/** Keeps only the last `limit` bytes written to it. */
class TailBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly limit: number) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.chunks.length > 1 && this.size - this.chunks[0]!.length >= this.limit) this.size -= this.chunks.shift()!.length;
  }

  /**
   * The last `limit` bytes with `secrets` scrubbed. When output was cut, the first (partial) line is
   * dropped: it is unreadable, and it could hold the tail end of a secret no longer recognizable.
   */
  text(secrets: readonly string[]): string {
    const all = Buffer.concat(this.chunks);
    const cut = all.length > this.limit;
    const tail = all.subarray(cut ? all.length - this.limit : 0).toString('utf8');
    const longest = Math.max(0, ...secrets.map((x) => x.length));
    // Scrubbing can lengthen the text: cut it back to `limit` bytes (a cut inside "[redacted]" is harmless).
    return lastBytes(scrub(cut ? afterCut(tail, longest) : tail, secrets), this.limit);
  }
}

/** Drops the partial first line of a cut text; a text without lines loses as much as a secret could span. */
function afterCut(text: string, longestSecret: number): string {
  const nl = text.indexOf('\n');
  return nl >= 0 ? text.slice(nl + 1) : `…${text.slice(longestSecret)}`;
}

function lastBytes(text: string, limit: number): string {
  const buf = Buffer.from(text, 'utf8');
  return buf.length <= limit ? text : afterCut(buf.subarray(buf.length - limit).toString('utf8'), 0);
}

/** Errors a stdin pipe reports when the tool stopped reading (exited, or closed stdin on purpose). */
const CLOSED_PIPE = new Set(['EPIPE', 'ERR_STREAM_DESTROYED', 'ERR_STREAM_PREMATURE_CLOSE', 'ECONNRESET']);

/** Starts `command` with `args` (never a shell: arguments are passed as they are). */
export function runTool(command: string, args: readonly string[], options: ToolOptions): ToolProcess {
  const child = spawn(command, args, {
    env: options.env,
    stdio: [options.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    shell: false,
  });
  // Both are pipes by the stdio option above; the types cannot know it.
  const stdout = child.stdout!;
  const stderr = new TailBuffer(STDERR_TAIL_BYTES);
  child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk));
  let aborted = false;
  let exitedYet = false;
  let killTimer: NodeJS.Timeout | undefined;
  let inputError: unknown;
  let spawnError: string | undefined;

  const kill = (): void => {
    if (exitedYet || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    killTimer ??= setTimeout(() => {
      if (!exitedYet) child.kill('SIGKILL');
    }, KILL_GRACE_MS);
    killTimer.unref();
  };
  const onAbort = (): void => {
    aborted = true;
    kill();
  };
  if (options.signal.aborted) onAbort();
  else options.signal.addEventListener('abort', onAbort, { once: true });

  let feeding: Promise<void> = Promise.resolve();
  if (options.stdin !== undefined && child.stdin) {
    const stdin = child.stdin;
    // A tool may exit before reading all its input (pg_restore --list stops after the TOC): not an error.
    stdin.on('error', () => undefined);
    const source =
      typeof options.stdin === 'string' || Buffer.isBuffer(options.stdin) ? Readable.from([Buffer.from(options.stdin)]) : options.stdin;
    feeding = pipeline(source, stdin).catch((err: unknown) => {
      const code = (err as { code?: unknown }).code;
      if (typeof code === 'string' && CLOSED_PIPE.has(code) && !(source instanceof Readable && source.errored)) return;
      inputError = err;
      kill();
    });
  }

  const exited = new Promise<ToolExit>((resolve) => {
    const settle = (code: number | null, signal: NodeJS.Signals | null): void => {
      exitedYet = true;
      if (killTimer) clearTimeout(killTimer);
      options.signal.removeEventListener('abort', onAbort);
      void feeding.then(() =>
        resolve({
          code,
          signal,
          aborted,
          stderr: stderr.text(options.secrets ?? []).trim(),
          ...(spawnError !== undefined ? { spawnError } : {}),
          ...(inputError !== undefined ? { inputError } : {}),
        }),
      );
    };
    child.once('error', (err) => {
      // 'error' without a started process: the tool is missing or not executable; 'close' may not follow.
      if (child.pid === undefined) {
        spawnError = err.message;
        settle(null, null);
      }
    });
    child.once('close', (code, signal) => settle(code, signal));
    // A killed tool may leave a child of its own holding stdout open (a shell's `sleep`), and then
    // 'close' would wait for that child: once a cancelled tool has exited, stop waiting for its pipes.
    child.once('exit', () => {
      if (!aborted) return;
      child.stdout?.destroy();
      child.stderr?.destroy();
    });
  });
  return { pid: child.pid, stdout, exited, kill };
}

/** How a tool ended, for messages: `exit code 1`, `killed by SIGTERM`, `cancelled`, `not started: ...`. */
export function describeExit(exit: ToolExit): string {
  if (exit.spawnError !== undefined) return `could not be started: ${exit.spawnError}`;
  if (exit.aborted) return 'cancelled';
  if (exit.signal !== null) return `killed by ${exit.signal}`;
  return `exit code ${exit.code}`;
}

/** Whether the tool ran to a clean end: exit 0, not aborted, its input delivered. */
export const succeeded = (exit: ToolExit): boolean =>
  exit.code === 0 && !exit.aborted && exit.inputError === undefined && exit.spawnError === undefined;

/** Runs a tool whose output is small (a query result, `--version`) and collects stdout, up to `maxBytes`. */
export async function runToolCollect(
  command: string,
  args: readonly string[],
  options: ToolOptions & { maxBytes?: number },
): Promise<{ stdout: Buffer; exit: ToolExit }> {
  const max = options.maxBytes ?? 16 * 1024 * 1024;
  const tool = runTool(command, args, options);
  const chunks: Buffer[] = [];
  let size = 0;
  let overflow = false;
  try {
    for await (const chunk of tool.stdout as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > max) {
        overflow = true;
        tool.kill();
        break;
      }
      chunks.push(chunk);
    }
  } catch {
    // A broken stdout pipe ends the tool too; its exit status tells what happened.
  }
  const exit = await tool.exited;
  if (overflow)
    return {
      stdout: Buffer.alloc(0),
      exit: { ...exit, code: exit.code === 0 ? 1 : exit.code, stderr: `${exit.stderr}\n(output exceeded ${max} bytes)`.trim() },
    };
  return { stdout: Buffer.concat(chunks), exit };
}
