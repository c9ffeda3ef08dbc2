import { spawn } from 'node:child_process';
import { CLI } from './paths.js';

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** stdout parsed as the one JSON document `-o json` promises (throws if it is not exactly one). */
  json<T = unknown>(): T;
  /** stderr parsed as `{code, message}`. */
  error(): { code: string; message: string };
}

/** Runs the built CLI exactly as a user would: `node bin/bulwark.js --home H -o json ...`. */
export function runCli(home: string, args: string[], options: { env?: NodeJS.ProcessEnv; json?: boolean } = {}): Promise<CliResult> {
  const argv = [CLI, '--home', home, ...(options.json === false ? [] : ['-o', 'json']), ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, { env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code, signal) =>
      resolve({
        code,
        signal,
        stdout,
        stderr,
        json<T>() {
          return JSON.parse(stdout) as T;
        },
        error() {
          return JSON.parse(stderr.trim().split('\n').pop() ?? '{}') as { code: string; message: string };
        },
      }),
    );
  });
}

/** Starts the CLI without waiting (for crash tests). */
export function spawnCli(home: string, args: string[]) {
  return spawn(process.execPath, [CLI, '--home', home, '-o', 'json', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Runs and requires success, returning the parsed JSON. */
export async function cliJson<T = Record<string, unknown>>(home: string, args: string[]): Promise<T> {
  const r = await runCli(home, args);
  if (r.code !== 0) throw new Error(`bulwark ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.json<T>();
}
