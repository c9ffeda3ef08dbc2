import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/paths.js';

describe('docs/plugin-authoring.md', () => {
  it('shows exactly the example plugin that the integration test runs', () => {
    const doc = readFileSync(join(REPO_ROOT, 'docs', 'plugin-authoring.md'), 'utf8');
    const block = /<!-- example:begin -->\n```js\n([\s\S]*?)```\n<!-- example:end -->/.exec(doc);
    expect(block, 'example block').to.not.equal(null);
    expect(block![1]).to.equal(readFileSync(join(REPO_ROOT, 'examples', 'plugins', 'single-file.mjs'), 'utf8'));
  });
});

describe('README service walkthrough', () => {
  it('shows exactly the script that test/e2e/service-walkthrough.test.ts runs', () => {
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    const block = /<!-- walkthrough:begin -->\n```bash\n([\s\S]*?)```\n<!-- walkthrough:end -->/.exec(readme);
    expect(block, 'walkthrough block').to.not.equal(null);
    expect(block![1]).to.equal(readFileSync(join(REPO_ROOT, 'docs', 'examples', 'service-walkthrough.sh'), 'utf8'));
  });
});
