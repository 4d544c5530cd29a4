#!/usr/bin/env node
// The `shipyard` command (npm link / npx shipyard). Runs the compiled CLI; `npm run build` first.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../dist/client/cli.js', import.meta.url));
if (!existsSync(cli)) {
  process.stderr.write('shipyard: not built yet; run `npm run build` in the Shipyard checkout\n');
  process.exit(1);
}
const { run } = await import(cli);
process.exit(await run(process.argv.slice(2)));
