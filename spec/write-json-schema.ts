// Writes spec/release-spec.schema.json, the JSON Schema editors use for completion and checks
// (add `# yaml-language-server: $schema=<path>/release-spec.schema.json` to a spec file).
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { ReleaseSpecSchema } from './schema.js';
import { TrainSpecSchema } from './train-schema.js';

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

export const TRAIN_JSON_SCHEMA_FILE = fileURLToPath(new URL('../../spec/train-spec.schema.json', import.meta.url));

/** The train spec's JSON Schema; a service's inline `spec` is any object here (checked as a release spec on load). */
export function trainSpecJsonSchema(): string {
  const schema = z.toJSONSchema(TrainSpecSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return `${JSON.stringify({ ...schema, $id: 'https://shipyard.dev/schemas/train-spec.schema.json', title: 'Shipyard train spec' }, null, 2)}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(JSON_SCHEMA_FILE, releaseSpecJsonSchema());
  console.log(`wrote ${JSON_SCHEMA_FILE}`);
  writeFileSync(TRAIN_JSON_SCHEMA_FILE, trainSpecJsonSchema());
  console.log(`wrote ${TRAIN_JSON_SCHEMA_FILE}`);
}
