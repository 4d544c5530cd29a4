// Types for the direct import in policy.ts (the package index pulls in node:fs, which workflows may not use).
declare module 'cron-parser/dist/CronExpressionParser.js' {
  export { CronExpressionParser } from 'cron-parser';
}
