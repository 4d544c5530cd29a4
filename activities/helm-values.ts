// Helm's way of layering values (values files in order, then --set/values): maps merge key by key,
// anything else (scalars, lists) is replaced by the later layer. Shared by the deployer (what a
// release supplied) and the spec read from the app repository (values files inlined into values).
export type Values = Record<string, unknown>;

const isMap = (v: unknown): v is Values => v !== null && typeof v === 'object' && !Array.isArray(v);

export function mergeValues(base: Values, over: Values): Values {
  const out: Values = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isMap(v) && isMap(b) ? mergeValues(b, v) : v;
  }
  return out;
}
