// Loading a train spec: the train's own fields (with file:line:col), then each service's release
// spec (a file relative to the train file, or inline), its issues prefixed with the service.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { formatPath, loadSpecFile, locator, MAX_SPEC_BYTES, SpecError, validateSpec, type Locate, type SpecIssue } from './load.js';
import { resolveLocalPaths } from './paths.js';
import type { ReleaseSpec } from './schema.js';
import { TrainSpecSchema, type TrainService, type TrainSpec } from './train-schema.js';

/** A train spec that cannot be used: every issue, the services' own prefixed with the service. */
export class TrainSpecError extends SpecError {
  constructor(source: string, issues: SpecIssue[]) {
    super(source, issues);
    this.name = 'TrainSpecError';
    this.message = this.message.replace(/^invalid release spec/, 'invalid train spec');
  }
}

export interface TrainParseOptions {
  /** The train file's directory: service specs given as paths are read from there. Without it, only inline specs. */
  baseDir?: string;
}

export function parseTrainSpec(text: string, source = 'train', options: TrainParseOptions = {}): TrainSpec {
  if (Buffer.byteLength(text) > MAX_SPEC_BYTES) throw new TrainSpecError(source, [{ path: '', message: `train spec is larger than ${MAX_SPEC_BYTES} bytes` }]);
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new TrainSpecError(
      source,
      doc.errors.map((e) => {
        const pos = lineCounter.linePos(e.pos[0]);
        return { path: '', message: `YAML: ${e.message.split('\n')[0]}`, line: pos.line, column: pos.col };
      }),
    );
  }
  return validateTrainSpec(doc.toJS({ maxAliasCount: 100 }), source, { ...options, locate: locator(doc, lineCounter) });
}

/** Validates an already-parsed train (the gateway's JSON body: inline specs only, unless baseDir is given). */
export function validateTrainSpec(data: unknown, source = 'train', options: TrainParseOptions & { locate?: Locate } = {}): TrainSpec {
  const locate = options.locate ?? (() => ({}));
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new TrainSpecError(source, [{ path: '', message: 'a train spec is a mapping (name:, services:, ...)' }]);
  }
  const result = TrainSpecSchema.safeParse(data);
  if (!result.success) {
    throw new TrainSpecError(
      source,
      result.error.issues.map((issue) => {
        const path = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]] : issue.path;
        const message = issue.code === 'unrecognized_keys' ? `unknown field(s) ${issue.keys.join(', ')}` : issue.message;
        return { path: formatPath(path), message, ...locate(path, issue.code === 'unrecognized_keys') };
      }),
    );
  }
  const issues: SpecIssue[] = [];
  const services: TrainService[] = [];
  result.data.services.forEach((s, i) => {
    const where = `services[${i}] (${s.name})`;
    let spec: ReleaseSpec | undefined;
    let specFile: string | undefined;
    try {
      if (typeof s.spec === 'string') {
        if (options.baseDir === undefined) throw new SpecError(source, [{ path: '', message: `a spec file (${s.spec}) needs the train file's directory; give the spec inline` }]);
        const file = isAbsolute(s.spec) ? s.spec : resolve(options.baseDir, s.spec);
        specFile = relative(options.baseDir, file) || s.spec;
        spec = loadSpecFile(file);
      } else {
        const inner: Locate = (p, atKey) => locate(['services', i, 'spec', ...p], atKey);
        spec = validateSpec(s.spec, source, inner);
        if (options.baseDir !== undefined) spec = resolveLocalPaths(spec, options.baseDir);
      }
    } catch (err) {
      if (!(err instanceof SpecError)) throw err;
      for (const e of err.issues) {
        if (typeof s.spec === 'string') {
          // Positions in the service's own file: named in the message, the issue sits at the service's spec field.
          const at = e.line ? `${specFile ?? s.spec}:${e.line}:${e.column}: ` : '';
          issues.push({ path: `${where}.spec`, message: `${at}${e.path || '(document)'}: ${e.message}`, ...locate(['services', i, 'spec']) });
        } else {
          issues.push({ ...e, path: `${where}.spec${e.path ? `.${e.path}` : ''}` });
        }
      }
      return;
    }
    if (spec.service !== s.name) {
      issues.push({ path: `${where}.name`, message: `the spec releases service '${spec.service}'; name the train's service the same`, ...locate(['services', i, 'name']) });
    }
    const envNames = spec.environments.map((e) => e.name);
    const unknown = (s.environments ?? []).filter((e) => !envNames.includes(e));
    if (unknown.length) {
      issues.push({ path: `${where}.environments`, message: `unknown environment(s) ${unknown.join(', ')}; the spec has ${envNames.join(', ')}`, ...locate(['services', i, 'environments']) });
    }
    services.push({ name: s.name, spec, dependsOn: s.dependsOn, ...(s.environments ? { environments: s.environments } : {}), ...(specFile ? { specFile } : {}) });
  });
  if (issues.length) throw new TrainSpecError(source, issues);
  return { ...result.data, services };
}

export function loadTrainFile(path: string): TrainSpec {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new TrainSpecError(path, [{ path: '', message: `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` }]);
  }
  return parseTrainSpec(text, path, { baseDir: dirname(resolve(path)) });
}
