/**
 * Running commands: timed steps (wall time, peak RSS of the whole process tree), untimed helpers,
 * page-cache eviction, `du -sb`, and installing missing Debian packages.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Command {
  argv: string[];
  cwd?: string;
  /** Added to the sanitized environment (see childEnv). */
  env?: Record<string, string>;
}

export interface Measured {
  wallMs: number;
  peakRssBytes: number;
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The environment of every tool: ours, without the variables through which an operator's own
 * restic, borg or Bulwark settings (a password file, a server URL, a repository) would leak into
 * the run, plus the tool's own variables (passphrases travel here, never in argv).
 */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(RESTIC_|BORG_|BULWARK_)/.test(k)) env[k] = v;
  return { ...env, ...extra };
}

const PAGE_SIZE = Number(spawnSync('getconf', ['PAGESIZE'], { encoding: 'utf8' }).stdout.trim()) || 4096;

/** Sum of the RSS of `root`'s descendants (and of root itself when includeRoot), from /proc. */
function treeRss(root: number, includeRoot: boolean): number {
  const children = new Map<number, number[]>();
  const rss = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'latin1');
    } catch {
      continue; // exited while we looked
    }
    // Fields after "(comm) ": state ppid ... rss is field 24 of stat(5), index 21 here.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const pid = Number(name);
    const ppid = Number(f[1]);
    rss.set(pid, Number(f[21]) * PAGE_SIZE);
    children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  }
  let total = includeRoot ? (rss.get(root) ?? 0) : 0;
  const todo = [...(children.get(root) ?? [])];
  for (let pid; (pid = todo.pop()) !== undefined;) {
    total += rss.get(pid) ?? 0;
    todo.push(...(children.get(pid) ?? []));
  }
  return total;
}

/**
 * GNU time (`-f %M`) reports the largest single process of the tree exactly; the /proc sampler
 * adds up processes running at once (tar | zstd) but can miss a short peak. Both are taken.
 */
export function findGnuTime(): string | null {
  const r = spawnSync('/usr/bin/time', ['-f', '%M', 'true'], { encoding: 'utf8' });
  return r.status === 0 && /^\d+\s*$/.test(r.stderr) ? '/usr/bin/time' : null;
}

const SAMPLE_MS = 100;
const KEEP_OUTPUT = 64 * 1024;

/** Runs one timed step: wall clock from spawn to exit, peak RSS over the whole process tree. */
export function measure(cmd: Command, gnuTime: string | null, scratch: string): Promise<Measured> {
  const timeFile = join(scratch, '.gnu-time');
  rmSync(timeFile, { force: true });
  const argv = gnuTime ? [gnuTime, '-o', timeFile, '-f', '%M', ...cmd.argv] : cmd.argv;
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(argv[0]!, argv.slice(1), { cwd: cmd.cwd, env: childEnv(cmd.env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout = (stdout + d).slice(-KEEP_OUTPUT);
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr = (stderr + d).slice(-KEEP_OUTPUT);
    });
    let sampled = 0;
    // GNU time itself (~2 MB) is not part of the tool: count only its descendants.
    const sample = (): void => {
      if (child.pid) sampled = Math.max(sampled, treeRss(child.pid, !gnuTime));
    };
    const timer = setInterval(sample, SAMPLE_MS);
    child.on('error', (err) => {
      clearInterval(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      const wallMs = performance.now() - t0;
      clearInterval(timer);
      let maxSingle = 0;
      if (gnuTime && existsSync(timeFile)) {
        // On failure GNU time writes "Command exited with non-zero status N" before the value.
        maxSingle = Number(readFileSync(timeFile, 'utf8').trim().split('\n').pop()) * 1024 || 0;
      }
      resolve({ wallMs, peakRssBytes: Math.max(sampled, maxSingle), code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
  });
}

/** Runs an untimed helper command; throws with its stderr when it fails. */
export function exec(cmd: Command): string {
  const r = spawnSync(cmd.argv[0]!, cmd.argv.slice(1), {
    cwd: cmd.cwd,
    env: childEnv(cmd.env),
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${cmd.argv.slice(0, 3).join(' ')} … exited ${r.status}: ${lastLines(r.stderr || r.stdout)}`);
  return r.stdout;
}

export function lastLines(text: string, n = 3): string {
  return text.trim().split('\n').slice(-n).join(' | ').slice(0, 400);
}

/**
 * Flushes dirty pages and evicts the page, dentry and inode caches, so the next step reads from
 * disk. Returns null on success, else why not (not root, a container without /proc/sys write).
 */
export function dropCaches(): string | null {
  spawnSync('sync');
  try {
    writeFileSync('/proc/sys/vm/drop_caches', '3');
    return null;
  } catch (err) {
    return (
      `page cache not evicted (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): "cold" steps may have run with a ` +
      `warm cache`
    );
  }
}

/** Bytes used on disk by a directory, as `du -sb` reports them (0 when absent). */
export function duBytes(dir: string): number {
  if (!existsSync(dir)) return 0;
  return Number(exec({ argv: ['du', '-sb', dir] }).split('\t')[0]);
}

export function which(exe: string): string | null {
  const r = spawnSync('sh', ['-c', 'command -v "$1"', 'sh', exe], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

/**
 * `apt-get install -y` of the given packages, as the issue asks when a tool is missing. Its output
 * goes to our stderr (stdout carries the report). Returns null on success, else why it failed.
 */
export function aptInstall(packages: string[]): string | null {
  if (packages.length === 0) return null;
  if (process.getuid?.() !== 0) return 'not root: cannot apt-get install';
  if (!which('apt-get')) return 'no apt-get on this machine';
  process.stderr.write(`bench: apt-get install -y ${packages.join(' ')}\n`);
  // Lock timeout: another apt run (an install in progress) is waited for rather than failed on.
  const r = spawnSync('apt-get', ['-o', 'DPkg::Lock::Timeout=600', 'install', '-y', ...packages], {
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    stdio: ['ignore', 2, 2],
  });
  return r.status === 0 ? null : `apt-get install -y ${packages.join(' ')} exited ${r.status}`;
}
