import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderErrorsDoc } from '../../src/common/errors-doc.js';
import { REPO_ROOT } from '../helpers/paths.js';

describe('docs/errors.md', () => {
  it('is up to date with the error registry (run `npm run docs:errors`)', () => {
    expect(readFileSync(join(REPO_ROOT, 'docs', 'errors.md'), 'utf8')).to.equal(renderErrorsDoc());
  });
});
