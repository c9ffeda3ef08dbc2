import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect } from 'chai';
import { REPO_ROOT } from '../helpers/paths.js';

/**
 * Runs gc-nudge in a Node of its own (with or without --expose-gc) and counts the minor collections
 * V8 reports while `discarded` is told of `mib` MiB, 1 MiB at a time, with nothing else allocating.
 */
function minorCollections(flags: string[], mib: number): number {
  const url = pathToFileURL(join(REPO_ROOT, 'dist', 'src', 'common', 'gc-nudge.js')).href;
  const script = `
    import { PerformanceObserver, constants } from 'node:perf_hooks';
    const { discarded } = await import(${JSON.stringify(url)});
    let minor = 0;
    const obs = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) if (e.detail.kind === constants.NODE_PERFORMANCE_GC_MINOR) minor++;
    });
    obs.observe({ entryTypes: ['gc'] });
    for (let i = 0; i < ${mib}; i++) discarded(1024 * 1024);
    await new Promise((r) => setTimeout(r, 50));
    obs.disconnect();
    console.log(minor);`;
  const r = spawnSync(process.execPath, [...flags, '--input-type=module', '-e', script], { encoding: 'utf8' });
  expect(r.status, r.stderr).to.equal(0);
  return Number(r.stdout.trim());
}

describe('gc-nudge (young garbage collected after every 16 MiB of discarded buffers)', () => {
  it('collects once per 16 MiB when the launcher exposed gc', () => {
    // At least: V8 may add one of its own while the script loads.
    expect(minorCollections(['--expose-gc'], 64)).to.be.within(4, 5);
  });

  it('does nothing without gc (a Node not started by the launcher)', () => {
    expect(minorCollections([], 64)).to.be.at.most(1);
  });
});
