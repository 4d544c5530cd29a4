// Loading a release spec from YAML: parse, validate, apply defaults, and say exactly what is wrong.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { LineCounter, parseDocument, isMap, isNode, isScalar, type Document } from 'yaml';
import type { z } from 'zod';
import { ReleaseSpecSchema, type ReleaseSpec } from './schema.js';
import { checkLocalCharts, resolveLocalPaths } from './paths.js';
import { closest, knownKeysAt } from './suggest.js';

export { resolveLocalPaths } from './paths.js';

export interface SpecIssue {
  /** Field path such as environments[1].canary.steps[2].setWeight ("" for the document). */
  path: string;
  message: string;
  /** 1-based position in the YAML source, when known. */
  line?: number;
  column?: number;
}

/**
 * A spec that cannot be used. Its message lists every issue, one per line, each naming its field,
 * in file order (line, then column); issues without a position keep their order, after the others.
 */
export class SpecError extends Error {
  readonly issues: SpecIssue[];
  constructor(source: string, given: SpecIssue[]) {
    const issues = [...given].sort(byPosition);
    const lines = issues.map((i) => {
      const where = i.line ? `${source}:${i.line}:${i.column}` : source;
      return `  ${where}: ${i.path || '(document)'}: ${i.message}`;
    });
    super(`invalid release spec (${issues.length} issue${issues.length === 1 ? '' : 's'}):\n${lines.join('\n')}`);
    this.name = 'SpecError';
    this.issues = issues;
  }
}

function byPosition(a: SpecIssue, b: SpecIssue): number {
  if (a.line === undefined || b.line === undefined) return (a.line === undefined ? 1 : 0) - (b.line === undefined ? 1 : 0);
  return a.line - b.line || (a.column ?? 0) - (b.column ?? 0);
}

/** Largest spec accepted; a release spec is a page of YAML, not a data file. */
export const MAX_SPEC_BYTES = 256 * 1024;

export function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((out, key) => {
    if (typeof key === 'number') return `${out}[${key}]`;
    return out ? `${out}.${String(key)}` : String(key);
  }, '');
}

/** Position of the value at `path`; with `atKey`, of the mapping key that is the path's last step. */
export type Locate = (path: PropertyKey[], atKey?: boolean) => { line?: number; column?: number };

export interface ParseOptions {
  /**
   * Directory the spec's relative paths are relative to (the spec file's). When given, local helm
   * charts must exist there; without it (a spec from a string) they are not checked.
   */
  baseDir?: string;
}

/** Positions in a parsed document: of the value at a path, or with `atKey` of its mapping key. */
export function locator(doc: Document, lineCounter: LineCounter): Locate {
  return (path, atKey) => {
    if (atKey && path.length > 0) {
      const map = doc.getIn(path.slice(0, -1) as unknown[], true);
      const key = String(path[path.length - 1]);
      const pair = isMap(map) ? map.items.find((p) => isScalar(p.key) && String(p.key.value) === key) : undefined;
      if (pair && isNode(pair.key) && pair.key.range) {
        const pos = lineCounter.linePos(pair.key.range[0]);
        return { line: pos.line, column: pos.col };
      }
    }
    // Point at the deepest node of the path that exists in the document.
    for (let n = path.length; n >= 0; n--) {
      const node = doc.getIn(path.slice(0, n) as unknown[], true);
      if (isNode(node) && node.range) {
        const pos = lineCounter.linePos(node.range[0]);
        return { line: pos.line, column: pos.col };
      }
    }
    return {};
  };
}

/**
 * The position of a field path in YAML text, for issues found after validation (e.g. files the spec
 * names): line and column of the value, or of the key with `atKey`. Empty when not found.
 */
export function positionIn(text: string, path: PropertyKey[], atKey = false): { line?: number; column?: number } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  return locator(doc, lineCounter)(path, atKey);
}

/** Parses and validates a spec from YAML (or JSON) text. `source` names it in errors. */
export function parseSpec(text: string, source = 'spec', options: ParseOptions = {}): ReleaseSpec {
  if (Buffer.byteLength(text) > MAX_SPEC_BYTES) {
    throw new SpecError(source, [{ path: '', message: `spec is larger than ${MAX_SPEC_BYTES} bytes` }]);
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new SpecError(
      source,
      doc.errors.map((e) => {
        const pos = lineCounter.linePos(e.pos[0]);
        return { path: '', message: `YAML: ${e.message.split('\n')[0]}`, line: pos.line, column: pos.col };
      }),
    );
  }
  const data = doc.toJS({ maxAliasCount: 100 });
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new SpecError(source, [{ path: '', message: 'a release spec is a YAML mapping (service:, source:, environments:, ...)' }]);
  }
  const locate = locator(doc, lineCounter);
  return check(data, source, locate, options.baseDir);
}

/** Validates an already-parsed object (for specs that arrive as JSON, e.g. from the gateway). */
export function validateSpec(data: unknown, source = 'spec', locate: Locate = () => ({})): ReleaseSpec {
  return check(data, source, locate);
}

/** The schema's issues and, with a base directory, the file system's, all reported at once. */
function check(data: unknown, source: string, locate: Locate, baseDir?: string): ReleaseSpec {
  const result = ReleaseSpecSchema.safeParse(data);
  const issues = result.success ? [] : result.error.issues.flatMap((issue) => toSpecIssues(issue, data, locate));
  if (baseDir !== undefined && data !== null && typeof data === 'object') {
    for (const p of checkLocalCharts(data, baseDir)) issues.push({ path: formatPath(p.path), message: p.message, ...locate(p.path) });
  }
  if (issues.length > 0 || !result.success) throw new SpecError(source, issues);
  return result.data;
}

function toSpecIssues(issue: z.core.$ZodIssue, data: unknown, locate: Locate): SpecIssue[] {
  if (issue.code === 'unrecognized_keys') return issue.keys.map((key) => unknownField(issue.path, key, data, locate));
  let message = issue.message;
  if (issue.code === 'invalid_type' && message.includes('received undefined')) message = 'is required';
  return [{ path: formatPath(issue.path), message, ...locate(issue.path) }];
}

/**
 * One issue per unknown key, at the key itself, suggesting the nearest field the object allows:
 * one it lacks first (more likely the intended one), else one it has (a stray misspelled copy).
 */
function unknownField(objectPath: PropertyKey[], key: string, data: unknown, locate: Locate): SpecIssue {
  const present = valueAt(data, objectPath);
  const known = knownKeysAt(ReleaseSpecSchema, objectPath);
  const suggestion = closest(key, known.filter((k) => !(present && Object.hasOwn(present, k)))) ?? closest(key, known);
  const path = [...objectPath, key];
  return { path: formatPath(path), message: `unknown field${suggestion ? `; did you mean ${suggestion}?` : ''}`, ...locate(path, true) };
}

function valueAt(data: unknown, path: readonly PropertyKey[]): object | undefined {
  let here = data;
  for (const key of path) {
    if (here === null || typeof here !== 'object') return undefined;
    here = (here as Record<PropertyKey, unknown>)[key];
  }
  return here !== null && typeof here === 'object' ? here : undefined;
}

export function loadSpecFile(path: string): ReleaseSpec {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new SpecError(path, [{ path: '', message: `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` }]);
  }
  const baseDir = dirname(resolve(path));
  return resolveLocalPaths(parseSpec(text, path, { baseDir }), baseDir);
}
