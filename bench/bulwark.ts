/**
 * Bulwark driven through its built CLI (bin/bulwark.js → dist/src/cli/main.js), as an operator
 * would: a home of its own with a provider whose fs bank encrypts and compresses at zstd level 1.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exec } from './measure.js';
import { credentialsFile, ensureBucket, s3Target, storedBytes, type S3Target } from './s3.js';
import type { StepCommand, Tool, ToolContext } from './tools.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** BULWARK_BENCH_BIN measures another build (e.g. main's, to compare a format change) with the same corpus and steps. */
const BIN = process.env.BULWARK_BENCH_BIN ?? join(ROOT, 'bin', 'bulwark.js');
/** The benchmark provider's id: fixed, so a kept work dir can be inspected with the same commands. */
export const BENCH_PROVIDER_ID = '7f3c2a9e-4b1d-4e8a-9c6f-2d5b8e1a0c47';
const PASSPHRASE_ENV = 'BULWARK_BENCH_PASSPHRASE';

export function bulwark(ctx: ToolContext & { restoreRoot: string }): Tool {
  return bulwarkOn(ctx, 'fs');
}

/** The same, with the provider's bank on the benchmark's MinIO (bench/s3.ts). */
export function bulwarkS3(ctx: ToolContext & { restoreRoot: string }): Tool {
  return bulwarkOn(ctx, 's3');
}

function bulwarkOn(ctx: ToolContext & { restoreRoot: string }, kind: 'fs' | 's3'): Tool {
  const home = join(ctx.dir, 'home');
  const repoDir = join(ctx.dir, 'bank');
  let target: S3Target | undefined;
  const env = { [PASSPHRASE_ENV]: ctx.passphrase };
  const cli = (...args: string[]): StepCommand => ({ argv: [process.execPath, BIN, '--home', home, ...args], env });
  let planId = '';
  const checkpoints: string[] = [];
  let hasBankCheck = false;

  const bankLines = (): string[] => {
    if (kind === 'fs') return ['  type: fs', `  options: {path: ${JSON.stringify(repoDir)}}`];
    target = s3Target('bulwark');
    ensureBucket(target);
    const options = {
      bucket: target.bucket,
      prefix: target.prefix,
      endpoint: target.endpoint,
      force_path_style: true,
      credentials_file: credentialsFile(target, ctx.dir),
    };
    return ['  type: s3', `  options: ${JSON.stringify(options)}`];
  };

  return {
    name: kind === 'fs' ? 'bulwark' : 'bulwark (S3)',
    requires: {},
    repoDir,
    ...(kind === 's3' ? { storedBytes: () => storedBytes(target!) } : {}),
    settings: () =>
      `${kind === 's3' ? 's3 bank on MinIO (path-style, 8 MiB parts)' : 'fs bank'} ` +
      `with \`encryption: {passphrase_env: ${PASSPHRASE_ENV}}\` and \`compression: {level: 1}\` (zstd), local engine; ` +
      '`plan create --resource fs.directory=CORPUS`, `checkpoint create` per backup, `restore create` of the latest checkpoint, `bank ' +
      'check --read-data`',
    version: () => {
      const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
      const git = spawnSync('git', ['-C', ROOT, 'describe', '--always', '--dirty'], { encoding: 'utf8' });
      return `bulwark ${pkg.version}${git.status === 0 ? ` (${git.stdout.trim()})` : ''}`;
    },
    setup: () => {
      mkdirSync(join(home, 'providers'), { recursive: true });
      writeFileSync(
        join(home, 'bulwark.yaml'),
        ['restore:', `  allowed_target_paths: [${JSON.stringify(ctx.restoreRoot)}]`, 'log: {level: warn}', ''].join('\n'),
      );
      writeFileSync(
        join(home, 'providers', 'bench.yaml'),
        [
          `id: ${BENCH_PROVIDER_ID}`,
          'name: bench',
          'description: Benchmark provider (scripts/bench.ts)',
          'plugins:',
          '  - name: fs.directory',
          'bank:',
          ...bankLines(),
          `  encryption: {passphrase_env: ${PASSPHRASE_ENV}}`,
          '  compression: {level: 1}',
          '',
        ].join('\n'),
      );
      const plan = JSON.parse(
        exec(
          cli(
            'plan',
            'create',
            '--name',
            'bench',
            '--provider',
            BENCH_PROVIDER_ID,
            '--resource',
            `fs.directory=${ctx.corpus}`,
            '-o',
            'json',
          ),
        ),
      ) as { id: string };
      planId = plan.id;
      // `bank check` is new: where it is missing the check step reports n/a instead of failing. An
      // unknown command's --help prints the top-level help with status 0, hence the look for the flag.
      const help = spawnSync(process.execPath, [BIN, '--home', home, 'bank', 'check', '--help'], { encoding: 'utf8' });
      hasBankCheck = help.status === 0 && help.stdout.includes('--read-data');
    },
    backup: () => ({
      ...cli('checkpoint', 'create', '--plan', planId, '-o', 'json'),
      parse: (stdout) => {
        const cp = JSON.parse(stdout) as { id: string; status: string; extra_info?: unknown };
        if (cp.status !== 'available') throw new Error(`checkpoint ${cp.id} ended ${cp.status}: ${JSON.stringify(cp.extra_info)}`);
        checkpoints.push(cp.id);
      },
    }),
    restore: (target) => ({
      ...cli(
        'restore',
        'create',
        '--checkpoint',
        checkpoints.at(-1) ?? '',
        '--parameters',
        JSON.stringify({ 'fs.directory': { target_path: target } }),
        '-o',
        'json',
      ),
      parse: (stdout) => {
        const r = JSON.parse(stdout) as { status: string; resources_reason?: unknown };
        if (r.status !== 'success') throw new Error(`restore ended ${r.status}: ${JSON.stringify(r.resources_reason)}`);
      },
    }),
    check: () =>
      hasBankCheck
        ? cli('bank', 'check', '--provider', BENCH_PROVIDER_ID, '--read-data')
        : { na: '`bulwark bank check` not available in this build' },
  };
}
