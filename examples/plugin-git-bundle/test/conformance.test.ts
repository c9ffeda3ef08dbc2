/**
 * Runs Bulwark's plugin conformance suite against example.git. The fixture is a real repository:
 * three branches, a tag and 4 MiB of history (enough that protect streams many pieces, so
 * cancellation and a crash land mid-bundle); a restore is compared by Git itself: every ref, HEAD,
 * a clean work tree and `git fsck --full`.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { describePluginConformance } from 'bulwark/plugin-kit';
import plugin, { TYPE } from '../src/index.js';

const root = mkdtempSync(join(tmpdir(), 'git-conformance-'));
const repos = join(root, 'repos');
const source = join(repos, 'project');
const git = (repo: string, ...args: string[]): string =>
  execFileSync('git', ['-C', repo, '-c', 'user.name=Fixture', '-c', 'user.email=fixture@example.com', ...args], { encoding: 'utf8' });

/** What Git says a repository holds: its refs with their objects, and where HEAD points. */
function state(repo: string): Record<string, string> {
  const refs = git(repo, 'for-each-ref', '--format=%(refname) %(objectname)').trim().split('\n');
  return { ...Object.fromEntries(refs.map((line) => line.split(' ') as [string, string])), HEAD: git(repo, 'symbolic-ref', 'HEAD').trim() };
}

let original: Record<string, string> = {};

describePluginConformance(plugin, {
  async source() {
    mkdirSync(source, { recursive: true });
    execFileSync('git', ['init', '-q', '-b', 'main', source]);
    for (let i = 0; i < 4; i++) {
      writeFileSync(join(source, `blob-${i}.bin`), randomBytes(1024 * 1024));
      writeFileSync(join(source, 'README.md'), `revision ${i}\n`);
      git(source, 'add', '-A');
      git(source, 'commit', '-q', '-m', `revision ${i}`);
      if (i === 1) git(source, 'branch', 'release-1');
    }
    git(source, 'tag', '-a', 'v1.0', '-m', 'first release');
    git(source, 'checkout', '-q', '-b', 'feature');
    writeFileSync(join(source, 'feature.txt'), 'work in progress\n');
    git(source, 'add', '-A');
    git(source, 'commit', '-q', '-m', 'feature');
    git(source, 'checkout', '-q', 'main');
    mkdirSync(join(repos, 'not-a-repository'));
    original = state(source);
    return { type: TYPE, id: source, name: 'project' };
  },
  async destination(label) {
    const place = mkdtempSync(join(root, `restore-${label}-`));
    const target = join(place, 'project');
    return {
      parameters: { target_path: target },
      written: async () => readdirSync(place).length > 0,
      async expectEqualToSource() {
        const got = state(target);
        if (!isDeepStrictEqual(got, original)) throw new Error(`refs differ: ${JSON.stringify(got)} vs ${JSON.stringify(original)}`);
        if (git(target, 'status', '--porcelain') !== '') throw new Error(`${target} has a work tree that differs from HEAD`);
        git(target, 'fsck', '--full', '--no-progress');
      },
    };
  },
  listParameters: { directory: repos },
  missingId: join(repos, 'not-a-repository'),
  cleanup: async () => rmSync(root, { recursive: true, force: true }),
});
