/**
 * `npm run demo`: the whole core in one go, in a throw-away home. Creates sample data, protects it,
 * lists the checkpoint, restores it elsewhere, verifies it and shows the restored tree equals the source.
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// `npm run demo` starts here, not at bin/bulwark.js, so it makes the same Node check first: on an
// unsupported Node it stops with that one line rather than a failed first step.
const nodeCheck = new URL('../../bin/node-check.js', import.meta.url).href;
((await import(nodeCheck)) as { exitUnlessSupportedNode(): void }).exitUnlessSupportedNode();

const CLI = fileURLToPath(new URL('../../bin/bulwark.js', import.meta.url));
const base = mkdtempSync(join(tmpdir(), 'bulwark-demo-'));
const home = join(base, 'home');
const data = join(base, 'sample-data');
const restored = join(base, 'restored');

function bulwark(args: string[], quiet = false): string {
  const shown = ['bulwark', ...args].map((a) => (/[\s{}"]/.test(a) ? `'${a}'` : a)).join(' ');
  if (!quiet) process.stdout.write(`\n$ ${shown}\n`);
  const r = spawnSync(process.execPath, [CLI, '--home', home, ...args], { encoding: 'utf8' });
  if (!quiet) process.stdout.write(r.stdout);
  if (r.status !== 0) {
    process.stderr.write(r.stderr);
    throw new Error(`"${shown}" exited ${r.status}`);
  }
  return r.stdout;
}
const json = <T>(args: string[]): T => JSON.parse(bulwark(['-o', 'json', ...args], true)) as T;

function makeSampleData(): void {
  mkdirSync(join(data, 'docs/reports/2026'), { recursive: true });
  mkdirSync(join(data, 'empty'));
  writeFileSync(join(data, 'docs/readme.txt'), 'Bulwark demo data\n');
  writeFileSync(join(data, 'docs/reports/2026/q3.csv'), 'quarter,revenue\nQ3,42\n');
  writeFileSync(join(data, 'docs/naïve café.txt'), 'non-ASCII names survive\n');
  writeFileSync(join(data, 'photo.bin'), randomBytes(3 * 1024 * 1024));
  writeFileSync(join(data, 'deploy.sh'), '#!/bin/sh\necho deploy\n');
  chmodSync(join(data, 'deploy.sh'), 0o755);
  symlinkSync('docs/readme.txt', join(data, 'README'));
}

/** path → type, mode, size, content hash, link target: what "the diff is empty" means here. */
function describeTree(root: string, rel = ''): string[] {
  return readdirSync(join(root, rel))
    .sort()
    .flatMap((name) => {
      const p = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(root, p));
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isSymbolicLink()) return [`${p} link ${readlinkSync(join(root, p))}`];
      if (st.isDirectory()) return [`${p}/ dir ${mode}`, ...describeTree(root, p)];
      return [
        `${p} file ${mode} ${st.size} ${createHash('sha256')
          .update(readFileSync(join(root, p)))
          .digest('hex')
          .slice(0, 16)} ${st.mtimeMs.toFixed(0)}`,
      ];
    });
}

makeSampleData();
process.stdout.write(`Demo home: ${home}\nSample data: ${data}\n`);
bulwark(['provider', 'list']);
const plan = json<{ id: string }>(['plan', 'create', '--name', 'demo', '--provider', 'fs-directory', '--resource', `fs.directory=${data}`]);
bulwark(['plan', 'show', plan.id]);
bulwark(['checkpoint', 'create', '--plan', plan.id]);
const [checkpoint] = json<Array<{ id: string }>>(['checkpoint', 'list', '--plan', plan.id]);
bulwark(['checkpoint', 'list']);
bulwark([
  'restore',
  'create',
  '--checkpoint',
  checkpoint!.id,
  '--parameters',
  JSON.stringify({ 'fs.directory': { target_path: restored } }),
]);
bulwark(['verification', 'create', '--checkpoint', checkpoint!.id]);

const before = describeTree(data);
const after = describeTree(restored);
const differences = [...before.filter((l) => !after.includes(l)), ...after.filter((l) => !before.includes(l))];
process.stdout.write(`\n$ diff <(tree of ${data}) <(tree of ${restored})\n`);
if (differences.length > 0) {
  process.stdout.write(`${differences.join('\n')}\nThe restored tree differs from the source.\n`);
  process.exit(1);
}
process.stdout.write(`(no differences: ${before.length} entries compared by type, mode, size, content hash and mtime)\n`);
const diff = spawnSync('diff', ['-r', '--no-dereference', data, restored], { encoding: 'utf8' });
if (diff.status !== null) process.stdout.write(`$ diff -r --no-dereference ${data} ${restored}\n${diff.stdout || '(empty)\n'}`);
process.stdout.write(`\nDone. Explore with: bulwark --home ${home} checkpoint list\n`);
