// Types for the direct import of the expression parser (the package index pulls in node:fs, which
// workflow code may not use; spec/schema.ts and workflows/policy.ts import this path).
declare module 'cron-parser/dist/CronExpressionParser.js' {
  export { CronExpressionParser } from 'cron-parser';
}
