// The statistical canary judge (Kayenta-class): canary samples against baseline samples per metric,
// Mann-Whitney U on sampled series and a two-proportion test on counts, weighted into one score.
// `canary.judge` defines it; a `judge` step runs one judgement over a window.
import { z } from 'zod';
import { dnsLabel, duration } from './fields.js';

/** `{{name}}` placeholders in a query; `window` is Shipyard's own (the judged window, e.g. 300s). */
export const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;
export const WINDOW_PLACEHOLDER = 'window';

const labelValues = z
  .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a placeholder name: letters, digits, _'), z.string())
  .refine((r) => Object.keys(r).length > 0, { message: 'name at least one placeholder, e.g. { track: canary }' });

const direction = z.enum(['increase', 'decrease', 'either']).describe('Which change of the canary is bad: increase (latency, errors), decrease (throughput), either');
const confidence = z.number().gt(0.5).lt(1).describe('Confidence level of the test, e.g. 0.95: a difference counts when p < 1 - confidence');
const minSamples = z.number().int().min(1).describe('Samples (series) or requests (proportion) needed on each side; fewer is inconclusive, never a pass');

const JudgeMetricSchema = z
  .strictObject({
    name: dnsLabel,
    query: z.string().min(1).optional().describe('PromQL returning one series per side, sampled over the window at `step` (Mann-Whitney U)'),
    proportion: z
      .strictObject({
        errors: z.string().min(1).describe('PromQL: the count of bad events over the window, e.g. sum(increase(http_requests_total{code=~"5..",track="{{track}}"}[{{window}}]))'),
        total: z.string().min(1).describe('PromQL: the count of all events over the window'),
      })
      .optional()
      .describe('Judge a rate on counts with a two-proportion test instead of sampled series'),
    direction: direction.default('increase'),
    tolerance: z.number().min(0).default(0.1).describe('Allowed effect: the canary fails only beyond baseline × (1 ± tolerance)'),
    effect: z.enum(['median', 'mean']).default('median').describe('Center compared for the effect size (sampled series)'),
    confidence: confidence.optional().describe('Defaults to canary.judge.confidence'),
    minSamples: minSamples.optional().describe('Defaults to canary.judge.minSamples'),
    nan: z.enum(['remove', 'replace']).default('remove').describe('NaN samples (e.g. 0/0 ratios): dropped, or replaced by replaceWith'),
    replaceWith: z.number().default(0),
    outliers: z.strictObject({ iqrFactor: z.number().positive() }).optional().describe('Drop samples outside [Q1 - k·IQR, Q3 + k·IQR] on each side'),
    weight: z.number().positive().default(1).describe('Share of the score'),
    critical: z.boolean().default(false).describe('A failure of this metric fails the judgement whatever the score'),
  })
  .superRefine((m, ctx) => {
    if ((m.query === undefined) === (m.proportion === undefined)) {
      ctx.addIssue({ code: 'custom', message: `metric ${m.name} needs exactly one of query (sampled series) or proportion (counts)` });
    }
  });
export type JudgeMetricSpec = z.output<typeof JudgeMetricSchema>;

export const JudgeSchema = z
  .strictObject({
    prometheus: z.strictObject({ address: z.string().optional().describe('Prometheus base URL; PROMETHEUS_URL when unset') }).default({}),
    canary: labelValues.describe('Values of the placeholders for the canary side, e.g. { track: canary }'),
    baseline: labelValues.describe('Values of the placeholders for the baseline side, e.g. { track: stable }'),
    step: duration.default('15s').describe('Range-query step: one sample per step on each side'),
    confidence: confidence.default(0.95),
    minSamples: minSamples.default(50),
    thresholds: z
      .strictObject({ pass: z.number().min(0).max(100).default(95), marginal: z.number().min(0).max(100).default(75) })
      .default({ pass: 95, marginal: 75 })
      .refine((t) => t.marginal <= t.pass, { message: 'marginal must be <= pass' })
      .describe('Score needed to pass, and to be marginal rather than failed'),
    marginal: z
      .enum(['fail', 'approval', 'continue'])
      .default('fail')
      .describe("A marginal score: roll back (fail), wait for the environment's approvers (approval), or go on (continue)"),
    metrics: z.array(JudgeMetricSchema).min(1),
  })
  .superRefine((j, ctx) => {
    const canaryKeys = Object.keys(j.canary).sort().join(',');
    if (canaryKeys !== Object.keys(j.baseline).sort().join(',')) {
      ctx.addIssue({ code: 'custom', path: ['baseline'], message: `canary and baseline must name the same placeholders (canary: ${canaryKeys})` });
    } else if (JSON.stringify(Object.entries(j.canary).sort()) === JSON.stringify(Object.entries(j.baseline).sort())) {
      ctx.addIssue({ code: 'custom', path: ['baseline'], message: 'canary and baseline have the same values: both sides would query the same series' });
    }
    for (const side of ['canary', 'baseline'] as const) {
      if (WINDOW_PLACEHOLDER in j[side]) ctx.addIssue({ code: 'custom', path: [side, WINDOW_PLACEHOLDER], message: '{{window}} is set by Shipyard (the judged window)' });
    }
    const names = new Set<string>();
    j.metrics.forEach((m, i) => {
      if (names.has(m.name)) ctx.addIssue({ code: 'custom', path: ['metrics', i, 'name'], message: `duplicate metric '${m.name}'` });
      names.add(m.name);
      const queries = m.query !== undefined ? [['query', m.query]] : m.proportion ? [['proportion', 'errors', m.proportion.errors], ['proportion', 'total', m.proportion.total]] : [];
      for (const q of queries) {
        const text = q[q.length - 1];
        for (const [, name] of text.matchAll(PLACEHOLDER)) {
          if (name !== WINDOW_PLACEHOLDER && !(name in j.canary)) {
            ctx.addIssue({ code: 'custom', path: ['metrics', i, ...q.slice(0, -1)], message: `placeholder {{${name}}} is not set by canary/baseline (they set: ${Object.keys(j.canary).join(', ')})` });
          }
        }
        if (![...text.matchAll(PLACEHOLDER)].some(([, n]) => n !== WINDOW_PLACEHOLDER)) {
          ctx.addIssue({ code: 'custom', path: ['metrics', i, ...q.slice(0, -1)], message: 'the query has no placeholder (e.g. {{track}}): canary and baseline would be the same series' });
        }
      }

    });
  })
  .describe('Statistical judgement of canary against baseline (judge steps)');
export type JudgeSpec = z.output<typeof JudgeSchema>;

/** A judge step: the window judged (the step waits it out first unless `wait: false`) and which metrics. */
export const JudgeStepSchema = z.strictObject({
  window: duration.describe('The judged window: samples from its start to its end'),
  wait: z.boolean().default(true).describe('Wait the window out first, so it covers this step (false: judge the window that just passed)'),
  metrics: z.array(z.string()).min(1).optional().describe('canary.judge metrics to judge (default: all)'),
});
export type JudgeStep = z.output<typeof JudgeStepSchema>;

/** Replaces every `{{name}}` with its value (`window` included); unknown names are left (validation reports them). */
export function substitute(query: string, values: Record<string, string>): string {
  return query.replace(PLACEHOLDER, (whole, name: string) => (name in values ? values[name] : whole));
}
