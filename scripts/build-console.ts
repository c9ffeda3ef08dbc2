/**
 * `npm run build` step: bundles the web console (console/src, Preact) with esbuild into
 * dist/console/{index.html, app.js, app.css}, the fixed set of files the API serves
 * (src/api/console.ts). Nothing is fetched at run time: no CDN, no web fonts.
 */
import { copyFileSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { CONSOLE_DIR } from '../src/api/console.js';

const source = fileURLToPath(new URL('../../console/', import.meta.url));
// A clean directory: a file left from an older build would be served too.
rmSync(CONSOLE_DIR, { recursive: true, force: true });
mkdirSync(CONSOLE_DIR, { recursive: true });
await build({
  entryPoints: [join(source, 'src', 'main.tsx')],
  outfile: join(CONSOLE_DIR, 'app.js'),
  bundle: true,
  format: 'esm',
  target: ['es2022'],
  minify: true,
  legalComments: 'eof',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  logLevel: 'warning',
});
copyFileSync(join(source, 'index.html'), join(CONSOLE_DIR, 'index.html'));
copyFileSync(join(source, 'app.css'), join(CONSOLE_DIR, 'app.css'));
console.log(`console: ${statSync(join(CONSOLE_DIR, 'app.js')).size} bytes of script in ${CONSOLE_DIR}`);
