// The metric provider contract, as in Flagger's pkg/metrics/providers: run a query, get one number
// (or null for "no data", with the reason when there is one). Prometheus and web (HTTP + JSONPath);
// `providerFor` picks the one a metric names.
import type { MetricSpec } from '../../spec/schema.js';
import type { Measurement } from '../canary-types.js';

export interface MetricProvider {
  measure(metric: MetricSpec): Promise<Measurement>;
}

/** Measures each metric with the provider of its kind (`prometheus` or `web`). */
export function providerFor(providers: { prometheus: MetricProvider; web: MetricProvider }): MetricProvider {
  return { measure: (metric) => (metric.web ? providers.web : providers.prometheus).measure(metric) };
}
