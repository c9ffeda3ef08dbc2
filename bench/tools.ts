/**
 * The tools compared, each described by the commands of its steps. The harness (scripts/bench.ts)
 * evicts the page cache, times each command and measures its repository afterwards; a tool only
 * says what to run. Passphrases reach the tools through environment variables, never argv.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { exec, type Command } from './measure.js';
import { s3Target, storedBytes } from './s3.js';

/** A step's command, and how to read its output (throwing fails the step). */
export interface StepCommand extends Command {
  parse?: (stdout: string) => void;
}

export interface Tool {
  readonly name: string;
  /** Executables the tool needs, and the Debian package that provides each. */
  readonly requires: Record<string, string>;
  /** The directory whose `du -sb` is "stored bytes". */
  readonly repoDir: string;
  /** Stored bytes measured otherwise (a repository in S3); `du -sb repoDir` when absent. */
  storedBytes?(): Promise<number>;
  /** The settings, written into the report. */
  settings(): string;
  version(): string;
  /** Untimed: create the repository. */
  setup(): void;
  backup(n: number): StepCommand;
  restore(target: string): StepCommand;
  /** The full read-back check, or why the tool has none. */
  check(): StepCommand | { na: string };
}

export interface ToolContext {
  corpus: string;
  /** Where the tool keeps its repository and caches (created by the harness). */
  dir: string;
  passphrase: string;
}

/** `tar -c` of the corpus into one archive per backup: the physical reference (no dedup, no incremental). */
function tarReference(name: string, ctx: ToolContext, compress: boolean): Tool {
  const repoDir = join(ctx.dir, 'archives');
  const archive = (n: number): string => join(repoDir, `backup-${n}.tar${compress ? '.zst' : ''}`);
  let latest = 0;
  return {
    name,
    requires: compress ? { bash: 'bash', tar: 'tar', zstd: 'zstd' } : { bash: 'bash', tar: 'tar' },
    repoDir,
    settings: () =>
      compress
        ? '`tar -cf - . | zstd -1 -q -o ARCHIVE` (zstd CLI default: 1 compression thread); a full archive per backup'
        : '`tar -cf - . | cat > ARCHIVE`; a full archive per backup',
    version: () =>
      [firstLine(exec({ argv: ['tar', '--version'] })), ...(compress ? [firstLine(exec({ argv: ['zstd', '--version'] }))] : [])].join('; '),
    setup: () => mkdirSync(repoDir, { recursive: true }),
    backup: (n) => {
      latest = n;
      // Paths travel as environment variables so no shell quoting of them is needed.
      const script = compress ? 'tar -cf - . | zstd -1 -q -o "$ARCHIVE"' : 'tar -cf - . | cat > "$ARCHIVE"';
      return { argv: ['bash', '-c', `set -o pipefail; ${script}`], cwd: ctx.corpus, env: { ARCHIVE: archive(n) } };
    },
    restore: (target) => {
      mkdirSync(target, { recursive: true });
      const script = compress ? 'zstd -dc -q "$ARCHIVE" | tar -xf -' : 'cat "$ARCHIVE" | tar -xf -';
      return { argv: ['bash', '-c', `set -o pipefail; ${script}`], cwd: target, env: { ARCHIVE: archive(latest) } };
    },
    check: () =>
      compress ? { argv: ['bash', '-c', 'zstd -t -q "$DIR"/*.zst'], env: { DIR: repoDir } } : { na: 'tar keeps no data checksums' },
  };
}

export const tarCat = (ctx: ToolContext): Tool => tarReference('tar | cat', ctx, false);
export const tarZstd = (ctx: ToolContext): Tool => tarReference('tar | zstd -1', ctx, true);

export function restic(ctx: ToolContext): Tool {
  const repoDir = join(ctx.dir, 'repo');
  // The cache sits beside the repository, not in ~/.cache, so runs never share one.
  const env = { RESTIC_PASSWORD: ctx.passphrase, RESTIC_CACHE_DIR: join(ctx.dir, 'cache') };
  const run = (...args: string[]): StepCommand => ({ argv: ['restic', '-r', repoDir, '-q', ...args], env });
  return {
    name: 'restic',
    requires: { restic: 'restic' },
    repoDir,
    settings: () =>
      'repository version 2, `--compression auto` (restic\'s zstd "default" speed; 0.14 has no level setting), ' +
      'AES-256 + Poly1305 (always on), password from RESTIC_PASSWORD, cache in the work dir; `backup .` from the corpus directory',
    version: () => firstLine(exec({ argv: ['restic', 'version'] })),
    setup: () => {
      exec(run('init', '--repository-version', '2'));
    },
    backup: () => ({ ...run('backup', '--compression', 'auto', '.'), cwd: ctx.corpus }),
    restore: (target) => run('restore', 'latest', '--target', target),
    check: () => run('check', '--read-data'),
  };
}

/** restic's S3 backend on the benchmark's MinIO (bench/s3.ts); keys reach it through its environment. */
export function resticS3(ctx: ToolContext): Tool {
  let target: ReturnType<typeof s3Target> | undefined;
  const env = (): Record<string, string> => ({
    RESTIC_PASSWORD: ctx.passphrase,
    RESTIC_CACHE_DIR: join(ctx.dir, 'cache'),
    AWS_ACCESS_KEY_ID: target!.accessKey,
    AWS_SECRET_ACCESS_KEY: target!.secretKey,
  });
  const repo = (): string => `s3:${target!.endpoint}/${target!.bucket}/${target!.prefix.slice(0, -1)}`;
  const run = (...args: string[]): StepCommand => ({ argv: ['restic', '-r', repo(), '-q', ...args], env: env() });
  return {
    name: 'restic (S3)',
    requires: { restic: 'restic' },
    repoDir: join(ctx.dir, 'none'),
    storedBytes: () => storedBytes(target!),
    settings: () => "as restic, with the repository on the same MinIO through restic's S3 backend (`-r s3:http://HOST:PORT/BUCKET/PREFIX`)",
    version: () => firstLine(exec({ argv: ['restic', 'version'] })),
    setup: () => {
      target = s3Target('restic');
      exec(run('init', '--repository-version', '2'));
    },
    backup: () => ({ ...run('backup', '--compression', 'auto', '.'), cwd: ctx.corpus }),
    restore: (target) => run('restore', 'latest', '--target', target),
    check: () => run('check', '--read-data'),
  };
}

export function borg(ctx: ToolContext): Tool {
  const repoDir = join(ctx.dir, 'repo');
  // BORG_BASE_DIR keeps borg's cache, config and security dirs in the work dir.
  const env = { BORG_PASSPHRASE: ctx.passphrase, BORG_BASE_DIR: join(ctx.dir, 'base') };
  let latest = 0;
  return {
    name: 'borg',
    requires: { borg: 'borgbackup' },
    repoDir,
    settings: () =>
      '`--encryption repokey-blake2` (AES-256-CTR + BLAKE2b), `--compression zstd,1`, passphrase from BORG_PASSPHRASE, ' +
      'cache in the work dir; `create REPO::backup-N .` from the corpus directory',
    version: () => firstLine(exec({ argv: ['borg', '--version'] })),
    setup: () => {
      exec({ argv: ['borg', 'init', '--encryption', 'repokey-blake2', repoDir], env });
    },
    backup: (n) => {
      latest = n;
      return { argv: ['borg', 'create', '--compression', 'zstd,1', `${repoDir}::backup-${n}`, '.'], cwd: ctx.corpus, env };
    },
    restore: (target) => {
      mkdirSync(target, { recursive: true });
      return { argv: ['borg', 'extract', `${repoDir}::backup-${latest}`], cwd: target, env };
    },
    check: () => ({ argv: ['borg', 'check', '--verify-data', repoDir], env }),
  };
}

/** The first line of a version banner, without zstd's decoration. */
export function firstLine(text: string): string {
  return (text.trim().split('\n')[0] ?? '').replace(/\*/g, '').trim();
}
