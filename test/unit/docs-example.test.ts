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
