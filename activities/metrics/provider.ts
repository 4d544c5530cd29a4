// The metric provider contract, as in Flagger's pkg/metrics/providers: run a query, get one number
// (or null for "no data"). Prometheus first.
import type { MetricSpec } from '../../spec/schema.js';

export interface MetricProvider {
  measure(metric: MetricSpec): Promise<number | null>;
}
