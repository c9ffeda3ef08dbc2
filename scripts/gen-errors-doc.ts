/**
 * Writes docs/errors.md from the error registry (`npm run docs:errors`), so the reference can never
 * drift from the code; a unit test fails when the committed file is stale.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderErrorsDoc } from '../src/common/errors-doc.js';

const target = fileURLToPath(new URL('../../docs/errors.md', import.meta.url));
writeFileSync(target, renderErrorsDoc());
process.stdout.write(`wrote ${target}\n`);
