export * from './schema.js';
export * from './duration.js';
export * from './identity.js';
export * from './version.js';
export { parseSpec, loadSpecFile, validateSpec, SpecError, formatPath, type SpecIssue } from './load.js';
export * from './artifact-store.js';
