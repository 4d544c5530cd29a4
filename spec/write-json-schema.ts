// Writes spec/release-spec.schema.json, the JSON Schema editors use for completion and checks
// (add `# yaml-language-server: $schema=<path>/release-spec.schema.json` to a spec file).
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { ReleaseSpecSchema } from './schema.js';

export const JSON_SCHEMA_FILE = fileURLToPath(new URL('../../spec/release-spec.schema.json', import.meta.url));

export function releaseSpecJsonSchema(): string {
  const schema = z.toJSONSchema(ReleaseSpecSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  const withMeta = {
    ...schema,
    $id: 'https://shipyard.dev/schemas/release-spec.schema.json',
    title: 'Shipyard release spec',
  };
  return `${JSON.stringify(withMeta, null, 2)}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(JSON_SCHEMA_FILE, releaseSpecJsonSchema());
  console.log(`wrote ${JSON_SCHEMA_FILE}`);
}
