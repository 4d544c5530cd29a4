// Threshold metrics: one number per measurement, judged against a range (canary analysis and
// post-deploy checks alike; spec/judge.ts judges them).
import { z } from 'zod';
import { dnsLabel, duration } from './fields.js';

export const MetricSchema = z
  .strictObject({
    name: dnsLabel,
    prometheus: z.strictObject({
      query: z.string().min(1).describe('PromQL returning one sample'),
      address: z.string().optional().describe('Prometheus base URL; PROMETHEUS_URL when unset'),
      range: z
        .strictObject({ window: duration, step: duration.default('15s'), reduce: z.enum(['avg', 'max', 'min', 'last']).default('avg') })
        .optional()
        .describe('Run a range query over the last `window` and reduce it to one number'),
    }),
    thresholdRange: z
      .strictObject({ min: z.number().optional(), max: z.number().optional() })
      .refine((r) => r.min !== undefined || r.max !== undefined, { message: 'set min, max or both' })
      .refine((r) => r.min === undefined || r.max === undefined || r.min <= r.max, { message: 'min must be <= max' }),
    interval: duration.default('30s').describe('Time between measurements'),
    count: z.number().int().min(1).default(1).describe('Measurements per analysis'),
    failureLimit: z.number().int().min(0).default(0).describe('Failed measurements tolerated'),
    consecutiveErrorLimit: z.number().int().min(0).default(4).describe('Query errors in a row tolerated'),
    inconclusive: z
      .enum(['fail', 'pass', 'ignore'])
      .default('fail')
      .describe('What a measurement with no data counts as'),
    dryRun: z.boolean().default(false).describe('Record the measurement but never fail on it'),
  });
export type MetricSpec = z.output<typeof MetricSchema>;
