/**
 * `npm run build` step: bundles the CLI (dist/src/cli/main.js, compiled by tsc) with esbuild into
 * dist/src/bundle/, which bin/bulwark.js loads. Every command starts faster: a few dozen files read
 * (and cached by V8's compile cache) instead of ~350 modules and ~700 cache entries, which on a cold
 * page cache saved ~0.28 s of a 0.78 s `plan list` (bench/results.md). Dynamic imports stay lazy
 * (esbuild splits them into chunks), so a command still loads only what it needs.
 *
 * The output sits two levels below dist/ (as every dist/src/<dir>/ module that finds files by a
 * relative URL from import.meta.url), so those URLs resolve the same bundled or not. The worker
 * threads' scripts are entries of their own, named as the code that starts them expects them next to it.
 *
 * Left out of the bundle: native addons (loaded by path), packages that find their own files
 * through __dirname (mariadb's error stacks, pino's transport workers), and CommonJS packages the
 * code imports dynamically by name (ioredis): esbuild gives such a chunk only a default export, so
 * `const { Redis } = await import('ioredis')` would find nothing. They load from node_modules.
 */
import { rmSync, statSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const DIST_SRC = fileURLToPath(new URL('../src/', import.meta.url));
export const BUNDLE_DIR = join(DIST_SRC, 'bundle');

rmSync(BUNDLE_DIR, { recursive: true, force: true });
await build({
  entryPoints: {
    main: join(DIST_SRC, 'cli', 'main.js'),
    'codec-worker': join(DIST_SRC, 'bank', 'chunks', 'codec-worker.js'),
    'small-file-worker': join(DIST_SRC, 'plugins', 'fs', 'small-file-worker.js'),
    'meta-prefetch-worker': join(DIST_SRC, 'plugins', 'fs', 'meta-prefetch-worker.js'),
  },
  outdir: BUNDLE_DIR,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node22',
  sourcemap: 'linked',
  external: ['better-sqlite3', '@napi-rs/*', 'zstd-napi', '@temporalio/*', 'mariadb', 'pino', 'ioredis', 'thread-stream', '*.node'],
  // Bundled CommonJS packages call require() for Node's own modules; ESM has no require of its own.
  banner: { js: "import { createRequire as __bwkCreateRequire } from 'node:module'; const require = __bwkCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});
const files = readdirSync(BUNDLE_DIR).filter((f) => f.endsWith('.js'));
const bytes = files.reduce((n, f) => n + statSync(join(BUNDLE_DIR, f)).size, 0);
console.log(`cli: ${files.length} files, ${(bytes / 1024 / 1024).toFixed(1)} MiB of script in ${BUNDLE_DIR}`);
