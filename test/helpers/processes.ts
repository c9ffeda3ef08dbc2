import { readdirSync, readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { CLI } from './paths.js';

export interface Daemon {
  child: ChildProcess;
  pid: number;
  output(): string;
  /** SIGKILL, then wait for the exit. */
  kill(): Promise<void>;
  /** SIGTERM (graceful), then wait for the exit code. */
  stop(): Promise<number | null>;
}

/** Starts a long-running CLI process (`worker`, `agent`) and resolves once it printed `ready`. */
export async function startDaemon(
  home: string,
  args: string[],
  ready: RegExp,
  limitMs = 60_000,
  env: NodeJS.ProcessEnv = {},
): Promise<Daemon> {
  const child = spawn(process.execPath, [CLI, '--home', home, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let text = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${args.join(' ')} not ready after ${limitMs} ms: ${text}`)), limitMs);
    const onData = (d: Buffer) => {
      text += d.toString();
      if (ready.test(text)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${args.join(' ')} exited ${code} before ready: ${text}`));
    });
  });
  return {
    child,
    pid: child.pid!,
    output: () => text,
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

// Kept for callers that still import it from here (test/e2e/distributed.test.ts); it lives in wait.ts.
export { waitFor } from './wait.js';

/**
 * Bytes a process has written so far (`wchar` of /proc/<pid>/io: every write, to files and pipes);
 * null when it is gone or cannot be looked at. A dump tool's output to Bulwark's pipe shows here long
 * before the bank stores any of it (chunks reach the bank in packs).
 */
export function writtenBytes(pid: number | string): number | null {
  try {
    const m = /^wchar:\s*(\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** `{pid, argv}` of every process we may read (others vanish or are unreadable mid-scan: skipped). */
export function runningProcesses(): Array<{ pid: string; argv: string[] }> {
  const out: Array<{ pid: string; argv: string[] }> = [];
  for (const pid of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      out.push({
        pid,
        argv: readFileSync(`/proc/${pid}/cmdline`, 'utf8')
          .split('\0')
          .filter((a) => a !== ''),
      });
    } catch {
      /* gone */
    }
  }
  return out;
}

/** The `NAME=value` entries a process was started with. */
export function processEnvironment(pid: number | string): string[] {
  return readFileSync(`/proc/${pid}/environ`, 'utf8')
    .split('\0')
    .filter((v) => v !== '');
}
