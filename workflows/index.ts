// The workflow bundle's entry point: every workflow the `bulwark` task queue serves.
export { operationWorkflow } from './operation.js';
