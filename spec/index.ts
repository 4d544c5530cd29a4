export * from './schema.js';
export * from './duration.js';
export { parseSpec, loadSpecFile, validateSpec, SpecError, formatPath, type SpecIssue } from './load.js';
