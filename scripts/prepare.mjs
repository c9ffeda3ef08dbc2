// `npm run build` on install, except when npm runs this as a *linked* package's prepare: a plugin
// package made by `bulwark plugin new` depends on `file:<this Bulwark>`, and npm runs the link's
// prepare on every install there. Bulwark is already built then (the tutorial starts from an
// installed Bulwark), and rebuilding it would take minutes and rewrite dist/ under whatever runs it.
import { execSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

const invokedElsewhere = process.env.INIT_CWD !== undefined && resolve(process.env.INIT_CWD) !== process.cwd();
if (invokedElsewhere && existsSync('dist/src/plugin-kit/index.js')) {
  console.log('bulwark: already built, not rebuilt for the package linking it (run `npm run build` in Bulwark to rebuild)');
} else {
  execSync('npm run build', { stdio: 'inherit' });
}
