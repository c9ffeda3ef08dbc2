// Bulwark's code uses Node features newer than some Nodes still in use (zstd in node:zlib, for one):
// on such a Node the first command would die on an import deep in dist/ with an error that never
// mentions the Node version. The entry points call this first instead. It is plain ES2022 with no
// dependencies, so that it parses and runs on exactly the old Node it has to refuse.
import { readFileSync } from 'node:fs';

/** Where a user is told to look: a README section that says how to get a supported Node. */
export const README_HINT = "see README.md, 'Two commands'";

/** package.json's engines.node: the one place the supported range is written down. */
export function supportedRange() {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  return pkg.engines.node;
}

function numbers(text) {
  return text.split('.').map((part) => Number.parseInt(part, 10) || 0);
}

/**
 * null when Node `version` (e.g. process.versions.node) satisfies `range`, else the one line to show.
 * Only ">=X[.Y[.Z]]" is understood: engines uses nothing else, and a range this cannot read throws
 * rather than silently letting every version through.
 */
export function checkNode(version, range) {
  const min = /^>=\s*v?(\d+(?:\.\d+){0,2})$/.exec(String(range).trim());
  if (!min) throw new Error(`node-check: cannot read engines.node ${JSON.stringify(range)}; expected ">=X.Y.Z"`);
  const found = String(version).replace(/^v/, '');
  const have = numbers(found.split(/[-+]/)[0]);
  const need = numbers(min[1]);
  for (let i = 0; i < 3; i++) {
    const h = have[i] ?? 0;
    const n = need[i] ?? 0;
    if (h !== n)
      return h > n
        ? null
        : `bulwark: found Node ${found}, but Bulwark needs Node ${range} (package.json "engines"); to get it, ${README_HINT}.`;
  }
  return null;
}

/** Exits 2 with checkNode's line when the running Node is not supported. */
export function exitUnlessSupportedNode() {
  // BULWARK_TEST_NODE_VERSION is for tests only: it lets them run the real entry points as if on an
  // old Node. It is not a user setting; a supported version here does not make an old Node work.
  const version = process.env.BULWARK_TEST_NODE_VERSION || process.versions.node;
  const problem = checkNode(version, supportedRange());
  if (problem) {
    process.stderr.write(`${problem}\n`);
    process.exit(2);
  }
}
