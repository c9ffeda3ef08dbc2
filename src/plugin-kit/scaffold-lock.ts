/**
 * The scaffold's package-lock.json: its tools (TypeScript, mocha, their types) pinned to exactly the
 * versions Bulwark's own lock file holds, so `npm install` in a new plugin package gets the tools
 * Bulwark is tested with and is served from npm's cache when Bulwark was installed on the machine.
 */
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

interface LockEntry {
  version?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  [field: string]: unknown;
}

/** Where node would find `name` from the package at `from` (a lock key): its own node_modules, then each parent's. */
function resolve(packages: Record<string, LockEntry>, from: string, name: string): string | undefined {
  let at = from;
  for (;;) {
    const key = `${at === '' ? '' : `${at}/`}node_modules/${name}`;
    if (packages[key] !== undefined) return key;
    if (at === '') return undefined;
    const up = at.lastIndexOf('/node_modules/');
    at = up === -1 ? '' : at.slice(0, up);
  }
}

/** The lock file of a package with `devDependencies` (Bulwark as a link at `bulwarkRoot`, the tools from Bulwark's lock). */
export function scaffoldLock(
  bulwarkRoot: string,
  packageDir: string,
  root: { name: string; version: string; devDependencies: Record<string, string> },
  tools: string[],
): string {
  const lock = JSON.parse(readFileSync(join(bulwarkRoot, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const own = JSON.parse(readFileSync(join(bulwarkRoot, 'package.json'), 'utf8')) as { name: string; version: string; license?: string };
  const packages = lock.packages;
  const picked = new Map<string, LockEntry>();
  const visit = (key: string): void => {
    if (picked.has(key)) return;
    const entry = packages[key]!;
    const { dev: _dev, devOptional: _devOptional, peer: _peer, ...rest } = entry;
    picked.set(key, { ...rest, dev: true });
    const optionalPeers = Object.entries(entry.peerDependenciesMeta ?? {}).filter(([, m]) => m.optional === true);
    const wanted = [
      ...Object.keys(entry.dependencies ?? {}),
      ...Object.keys(entry.optionalDependencies ?? {}),
      ...Object.keys(entry.peerDependencies ?? {}).filter((n) => !optionalPeers.some(([p]) => p === n)),
    ];
    for (const name of wanted) {
      const found = resolve(packages, key, name);
      if (found !== undefined) visit(found);
    }
  };
  for (const tool of tools) {
    const key = resolve(packages, '', tool);
    if (key === undefined) throw new Error(`Bulwark's package-lock.json has no ${tool}: reinstall Bulwark (npm ci)`);
    visit(key);
  }
  const link = relative(packageDir, bulwarkRoot);
  const out: Record<string, unknown> = {
    '': { name: root.name, version: root.version, devDependencies: root.devDependencies },
    [link]: { name: own.name, version: own.version, dev: true, ...(own.license ? { license: own.license } : {}) },
    'node_modules/bulwark': { resolved: link, link: true },
  };
  for (const key of [...picked.keys()].sort()) out[key] = picked.get(key);
  return `${JSON.stringify({ name: root.name, version: root.version, lockfileVersion: 3, requires: true, packages: out }, null, 2)}\n`;
}
