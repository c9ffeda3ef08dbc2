import { fileURLToPath } from 'node:url';

/**
 * The compiled workflow entry point (dist/workflows/index.js) that the Temporal worker bundles.
 * This module sits two levels below dist/ (dist/src/protection-manager/), as the CLI bundle does
 * (dist/src/bundle/, scripts/build-cli.ts): a relative URL from here resolves the same from both.
 */
export const WORKFLOWS_PATH = fileURLToPath(new URL('../../workflows/index.js', import.meta.url));
