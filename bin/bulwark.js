#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ by `npm run build` (run by `npm ci` through `prepare`).
// The Node check is imported statically and runs before the CLI is loaded: on an unsupported Node
// loading the CLI is what fails.
import { mkdirSync } from 'node:fs';
import module from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { exitUnlessSupportedNode } from './node-check.js';
import { reexecWithHeapFlags } from './heap-flags.js';

exitUnlessSupportedNode();
reexecWithHeapFlags();
// Every command pays for compiling the modules it loads; V8's code cache, kept between runs, saves
// most of that. In the user's own cache directory (created private), never a shared /tmp another user
// could write to. NODE_COMPILE_CACHE chooses another place; NODE_DISABLE_COMPILE_CACHE=1 turns it off.
if (!process.env.NODE_COMPILE_CACHE) {
  const dir = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'bulwark');
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    module.enableCompileCache?.(join(dir, 'node-compile-cache'));
  } catch {
    // No cache directory (a read-only home): commands still run, only slower to start.
  }
} else {
  module.enableCompileCache?.();
}
// The bundled CLI (scripts/build-cli.ts) starts faster; BULWARK_CLI_UNBUNDLED=1 runs the modules tsc
// compiled instead (a `tsc --watch` loop rebuilds those, not the bundle).
const entry = process.env.BULWARK_CLI_UNBUNDLED === '1' ? '../dist/src/cli/main.js' : '../dist/src/bundle/main.js';
import(entry)
  .then((m) => m.main(process.argv))
  .catch((err) => {
    process.stderr.write(`bulwark: ${err && err.stack ? err.stack : err}\n`);
    process.exit(70);
  });
