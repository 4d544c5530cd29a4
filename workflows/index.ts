// Entry point the worker bundles: every workflow type Shipyard registers.
export { releaseWorkflow } from './release/index.js';
export { freezeWorkflow } from './freeze.js';
export { leaseWorkflow } from './lease.js';
export { analysisWorkflow } from './analysis-child.js';
export { pipelineWorkflow } from './pipeline.js';
export { trainWorkflow } from './train.js';
