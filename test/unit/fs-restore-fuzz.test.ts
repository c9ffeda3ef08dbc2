import * as fs from 'node:fs';
import { join, posix } from 'node:path';
import { expect } from 'chai';
import fc from 'fast-check';
import type { BankSection, ProtectionPlugin, RestorePolicy } from '../../src/plugins/api.js';
import { TempDirs, closeStores, dirResource, loadPlugin, newSection, protect, restore } from './fs-plugin-helpers.js';

/**
 * Restore targets built from symlinks, `..`, absolute links and races between the resources of one
 * restore: whatever the mix, nothing is ever written outside the allowed root, nor into the home or
 * the bank inside it. Archives hold the links (as a copy of /proc/self would: `root -> /`); earlier
 * or concurrent restores plant them in the allowed tree; later targets go through them.
 *
 * `world` stands in for `/`, eight levels down a temp dir: were the writer ever to regress, the
 * escapes this test provokes (a restore onto `/` itself, which would chmod it) stay in that temp dir.
 */
const LEVELS = ['1', '2', '3', '4', '5', '6', '7', '8'];

describe('fs.directory restore targets, fuzzed: nothing lands outside the policy', function () {
  this.timeout(300_000);
  const temps = new TempDirs();
  let protection: ProtectionPlugin;
  let top: string;
  let world: string;
  let allowed: string;
  let home: string;
  let bank: string;
  let outside: string;
  let policy: RestorePolicy;
  const sources: Array<{ src: string; section: BankSection }> = [];
  /** Every path under `top` outside the allowed tree, and everything in the home and bank, before any restore. */
  let untouched: string[];

  /** Every entry below `dir`, symlinks not followed. */
  const walk = (dir: string): string[] =>
    fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
      const p = join(dir, d.name);
      return d.isDirectory() ? [p, ...walk(p)] : [p];
    });
  const guarded = (): string[] =>
    walk(top)
      .filter((p) => !(p === allowed || p.startsWith(`${allowed}/`)) || [home, bank].some((g) => p === g || p.startsWith(`${g}/`)))
      .sort();

  /**
   * Back to the starting state before each run, escapes included: a run that wrote where it must not
   * fails by itself, and does not leave debris that would make the shrunk counterexample lie.
   */
  function reset(): void {
    for (const name of fs.readdirSync(allowed))
      if (name !== 'home' && name !== 'bank') fs.rmSync(join(allowed, name), { recursive: true, force: true });
    const chain = [...LEVELS, 'world'];
    let dir = top;
    for (const next of [...chain, null]) {
      const keep = next === null ? ['allowed', 'outside'] : [next];
      for (const name of fs.readdirSync(dir)) if (!keep.includes(name)) fs.rmSync(join(dir, name), { recursive: true, force: true });
      if (next !== null) dir = join(dir, next);
    }
    for (const d of [home, bank, outside]) {
      for (const name of fs.readdirSync(d)) fs.rmSync(join(d, name), { recursive: true, force: true });
      fs.writeFileSync(join(d, 'sentinel'), 'untouched');
    }
  }

  before(async () => {
    ({ protection } = await loadPlugin());
    top = temps.make();
    world = join(top, ...LEVELS, 'world');
    allowed = join(world, 'allowed');
    home = join(allowed, 'home');
    bank = join(allowed, 'bank');
    outside = join(world, 'outside');
    for (const d of [home, bank, outside]) {
      fs.mkdirSync(d, { recursive: true });
      fs.writeFileSync(join(d, 'sentinel'), 'untouched');
    }
    policy = { allowedTargetPaths: [allowed], forbiddenPaths: [home, bank] };
    // Archives that plant links of every kind, and one with plain data.
    const planted: Array<Record<string, string>> = [
      { l1: world, l2: '..' },
      { l1: outside, l2: home },
      { l1: '../..', l2: bank, l3: world },
      { l1: '../outside', l2: '../home', l3: '.' },
    ];
    for (const links of planted) {
      const src = temps.make();
      for (const [name, to] of Object.entries(links)) fs.symlinkSync(to, join(src, name));
      fs.mkdirSync(join(src, 'd'));
      fs.symlinkSync(world, join(src, 'd', 'l1'));
      fs.writeFileSync(join(src, 'f'), 'planted');
      sources.push({ src, section: newSection({ dir: src }).section });
    }
    const data = temps.make();
    fs.mkdirSync(join(data, 'fzp'));
    fs.writeFileSync(join(data, 'fzp', 'payload'), 'payload');
    fs.writeFileSync(join(data, 'sentinel'), 'overwritten!');
    sources.push({ src: data, section: newSection({ dir: data }).section });
    for (const s of sources) await protect(protection, dirResource(s.src), s.section);
    untouched = guarded();
  });
  after(async () => {
    temps.cleanup();
    await closeStores();
  });

  /** Components a target is built from; ABS_* expand to a path's components below `world` (useful after a link to it). */
  const component = fc.constantFrom(
    'l1',
    'l2',
    'l3',
    'd',
    'f',
    '..',
    '.',
    'fzp',
    'fzq',
    'home',
    'bank',
    'ABS_HOME',
    'ABS_OUTSIDE',
    'ABS_BANK',
  );
  const expand = (c: string): string[] =>
    c === 'ABS_HOME'
      ? home.slice(world.length + 1).split('/')
      : c === 'ABS_OUTSIDE'
        ? outside.slice(world.length + 1).split('/')
        : c === 'ABS_BANK'
          ? bank.slice(world.length + 1).split('/')
          : [c];
  const step = fc.record({
    source: fc.nat({ max: 4 }),
    parts: fc.array(component, { minLength: 0, maxLength: 6 }),
    conflict: fc.constantFrom('fail', 'skip', 'overwrite'),
  });
  /** One restore: its resources, in groups that run at the same time (a group of one runs alone). */
  const restoreRun = fc.array(fc.array(step, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 4 });

  it('holds for random restores of linked archives into linked targets', async () => {
    await fc.assert(
      fc.asyncProperty(restoreRun, async (groups) => {
        reset();
        const steps = groups.flat().map((s) => ({ ...s, target: posix.join(allowed, ...s.parts.flatMap(expand)) }));
        // The request-time check, against the tree as it is before anything runs (as the API does).
        const admitted = new Set<object>();
        for (const s of steps) {
          const { src } = sources[s.source]!;
          const ok = await Promise.resolve(protection.checkRestore!(dirResource(src), { target_path: s.target }, policy)).then(
            () => true,
            () => false,
          );
          if (ok) admitted.add(s);
        }
        let i = 0;
        for (const group of groups) {
          const mine = steps.slice(i, i + group.length);
          i += group.length;
          await Promise.all(
            mine
              .filter((s) => admitted.has(s))
              .map((s) => {
                const { src, section } = sources[s.source]!;
                // Refusals and conflicts are expected outcomes; only where bytes land is judged.
                return restore(protection, dirResource(src), section, { target_path: s.target, conflict: s.conflict }, policy).catch(
                  () => undefined,
                );
              }),
          );
        }
        expect(guarded(), JSON.stringify(steps.map((s) => s.target))).to.deep.equal(untouched);
        for (const g of [home, bank, outside]) expect(fs.readFileSync(join(g, 'sentinel'), 'utf8')).to.equal('untouched');
      }),
      { numRuns: 150 },
    );
  });
});
