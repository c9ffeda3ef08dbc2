/**
 * `npm run check:workflows`: bundles the workflow code exactly as a worker does. A workflow that
 * imports something the sandbox cannot run (a node builtin, a module with side effects) fails here,
 * in CI, instead of at a worker's start.
 */
import { workflowBundle, WORKFLOWS_PATH } from '../src/protection-manager/engines/temporal-worker.js';

try {
  const { code } = await workflowBundle();
  process.stdout.write(`workflow bundle OK: ${WORKFLOWS_PATH} (${(code.length / 1024).toFixed(0)} KiB)\n`);
} catch (err) {
  process.stderr.write(`workflow bundle FAILED: ${(err as Error).message}\n`);
  process.exit(1);
}
