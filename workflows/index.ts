// Entry point the worker bundles: every workflow type Shipyard registers.
export { releaseWorkflow } from './release.js';
export { freezeWorkflow } from './freeze.js';
