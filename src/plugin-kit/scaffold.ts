/**
 * `bulwark plugin new <name>`: writes a small TypeScript package holding a working plugin skeleton
 * (its schemas included), a provider file that loads it and a test running the conformance suite,
 * from the templates in templates/plugin/. Bad input is refused before anything is written, and a
 * write that fails midway removes what was written.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bwkError } from '../core/errors.js';
import { BUILTIN_PLUGINS } from '../plugins/builtin.js';
import { scaffoldLock } from './scaffold-lock.js';

/** The Bulwark package this module belongs to (dist/src/plugin-kit/ → the package root). */
export const BULWARK_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const TEMPLATES = join(BULWARK_ROOT, 'templates', 'plugin');
/** Provider-file plugin names and resource types: lowercase words joined by `.`, `-` or `_`. */
const PLUGIN_NAME = /^[a-z][a-z0-9]*(?:[._-][a-z0-9]+)*$/;
/** What the scaffold's tooling is pinned to: the versions Bulwark itself is built and tested with. */
const TOOLS = ['typescript', 'mocha', '@types/mocha', '@types/node'];

export interface ScaffoldOptions {
  name: string;
  /** The directory to create (default: `./<name>` with `.` and `_` as `-`); it must not exist, or be empty. */
  dir?: string;
  /** How the package depends on Bulwark (default: `file:` this Bulwark's directory). */
  bulwark?: string;
}

const invalid = (reason: string): Error => bwkError('BWK_ERR_INVALID_INPUT', { reason });

function checkName(name: string): void {
  if (name.length > 63 || !PLUGIN_NAME.test(name))
    throw invalid(
      `plugin name "${name}" is not usable: give 1-63 lowercase letters and digits, words joined by ".", "-" or "_", starting with a ` +
        'letter (e.g. acme.widget)',
    );
  if (BUILTIN_PLUGINS.has(name)) throw invalid(`plugin name "${name}" is a built-in plugin's: choose another (e.g. acme.${name})`);
}

function checkDir(dir: string): void {
  if (!existsSync(dir)) {
    if (!existsSync(dirname(dir))) throw invalid(`cannot create ${dir}: ${dirname(dir)} does not exist`);
    return;
  }
  if (!statSync(dir).isDirectory()) throw invalid(`${dir} exists and is not a directory: give another --dir`);
  if (readdirSync(dir).length > 0) throw invalid(`${dir} is not empty: give a new or empty --dir, nothing was written`);
}

function devDependencies(bulwark: string): Record<string, string> {
  const own = JSON.parse(readFileSync(join(BULWARK_ROOT, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
  const deps: Record<string, string> = { bulwark };
  for (const tool of TOOLS) deps[tool] = own.devDependencies[tool] ?? '*';
  return deps;
}

/** Every template file, relative to the templates directory. */
function templates(dir = TEMPLATES): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? templates(join(dir, e.name)) : [relative(TEMPLATES, join(dir, e.name))],
  );
}

/** Writes the package; returns its directory and the files written (relative to it). */
export function scaffoldPlugin(opts: ScaffoldOptions): { dir: string; files: string[] } {
  checkName(opts.name);
  const slug = opts.name.replace(/[._]/g, '-');
  const dir = resolve(opts.dir ?? slug);
  checkDir(dir);
  const bulwark = opts.bulwark ?? `file:${BULWARK_ROOT}`;
  const deps = devDependencies(bulwark);
  const values: Record<string, string> = {
    NAME: opts.name,
    PACKAGE: `bulwark-plugin-${slug}`,
    PROVIDER_ID: randomUUID(),
    PROVIDER_NAME: slug,
    MODULE: JSON.stringify(join(dir, 'dist', 'src', 'index.js')),
    DEV_DEPENDENCIES: JSON.stringify(deps, null, 4).replace(/\n}$/, '\n  }'),
  };
  // Only this Bulwark can be locked (its lock file pins the tools); another spec resolves at install.
  const local = bulwark.startsWith('file:') && resolve(dir, bulwark.slice('file:'.length)) === BULWARK_ROOT;
  const lock = local ? scaffoldLock(BULWARK_ROOT, dir, { name: values.PACKAGE!, version: '0.1.0', devDependencies: deps }, TOOLS) : null;
  const created = !existsSync(dir);
  const files: string[] = [];
  try {
    mkdirSync(dir, { recursive: true });
    for (const template of templates()) {
      const target = template.replace(/\.tmpl$/, '').replace(/^(gitignore|mocharc\.json)$/, '.$1');
      const text = readFileSync(join(TEMPLATES, template), 'utf8').replace(/\{\{([A-Z_]+)\}\}/g, (_, key: string) => values[key] ?? '');
      mkdirSync(dirname(join(dir, target)), { recursive: true });
      writeFileSync(join(dir, target), text, { flag: 'wx' });
      files.push(target);
    }
    if (lock !== null) {
      writeFileSync(join(dir, 'package-lock.json'), lock, { flag: 'wx' });
      files.push('package-lock.json');
    }
  } catch (err) {
    if (created) rmSync(dir, { recursive: true, force: true });
    else for (const f of files) rmSync(join(dir, f), { force: true });
    throw err;
  }
  return { dir, files: files.sort() };
}
