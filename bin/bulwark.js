#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ by `npm run build` (run by `npm ci` through `prepare`).
// The Node check is imported statically and runs before the CLI is loaded: on an unsupported Node
// loading the CLI is what fails.
import { exitUnlessSupportedNode } from './node-check.js';

exitUnlessSupportedNode();
import('../dist/src/cli/main.js')
  .then((m) => m.main(process.argv))
  .catch((err) => {
    process.stderr.write(`bulwark: ${err && err.stack ? err.stack : err}\n`);
    process.exit(70);
  });
