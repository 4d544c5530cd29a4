// "Did you mean ...?" for unknown spec fields: the known keys of the object schema at an issue's
// path, and the closest of them to the misspelled key by edit distance.
import type { z } from 'zod';

type Def = { type: string; [k: string]: unknown };
const defOf = (s: unknown): Def | undefined => (s as { _zod?: { def?: Def } } | undefined)?._zod?.def;

/** Wrappers that hold one schema and change nothing about the keys of the value inside. */
const WRAPPERS = new Set(['optional', 'nullable', 'default', 'prefault', 'catch', 'readonly', 'nonoptional']);

/** The concrete schemas a value may have: wrappers peeled off, pipes by their input, unions by every option. */
function unwrap(schema: unknown, depth = 0): unknown[] {
  const def = defOf(schema);
  if (!def || depth > 50) return [];
  if (WRAPPERS.has(def.type)) return unwrap(def.innerType, depth + 1);
  if (def.type === 'pipe') return unwrap(def.in, depth + 1); // .transform(): the input is what the YAML must match
  if (def.type === 'lazy') return unwrap((def.getter as () => unknown)(), depth + 1);
  if (def.type === 'union') return (def.options as unknown[]).flatMap((o) => unwrap(o, depth + 1));
  if (def.type === 'intersection') return [...unwrap(def.left, depth + 1), ...unwrap(def.right, depth + 1)];
  return [schema];
}

/** The schema one path step below `schema` (object field, array element, record value, tuple item). */
function child(schema: unknown, key: PropertyKey): unknown[] {
  const def = defOf(schema)!;
  if (def.type === 'object' && typeof key === 'string') {
    const shape = def.shape as Record<string, unknown>;
    return Object.hasOwn(shape, key) ? [shape[key]] : [];
  }
  if (def.type === 'array' && typeof key === 'number') return [def.element];
  if (def.type === 'record') return [def.valueType];
  if (def.type === 'tuple' && typeof key === 'number') return [(def.items as unknown[])[key]].filter(Boolean);
  return [];
}

/** The keys the object schema(s) at `path` allow, in declaration order (empty when the path reaches no object). */
export function knownKeysAt(root: z.ZodType, path: readonly PropertyKey[]): string[] {
  let here = unwrap(root);
  for (const key of path) here = here.flatMap((s) => child(s, key)).flatMap((s) => unwrap(s));
  const keys = new Set<string>();
  for (const s of here) {
    const def = defOf(s)!;
    if (def.type === 'object') for (const k of Object.keys(def.shape as object)) keys.add(k);
  }
  return [...keys];
}

/** Levenshtein distance (insertions, deletions, substitutions), two rows. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length];
}

/**
 * The candidate closest to `word`, ignoring case, when it is close enough to be the intended one:
 * at most 2 edits and at most a third of the word's length (rounded up), so short keys need a
 * near-exact match ("to" never suggests "on"). A case-only difference always counts.
 */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const w = word.toLowerCase();
  const limit = Math.min(2, Math.ceil(w.length / 3));
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(w, c.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return bestDistance <= limit ? best : undefined;
}
