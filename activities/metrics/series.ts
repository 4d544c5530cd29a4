// A measurement series: up to `rounds` measurements of one metric, `interval` apart, judged as they
// come with the same rules as the workflow (spec/judge.ts), stopping at the first verdict. Background
// analyses measure this way so a week-long canary costs one activity per batch, not per sample; the
// activity heartbeats every measurement and stops between two when the release cancels it.
import { CancelledFailure, Context } from '@temporalio/activity';
import { parseDuration } from '../../spec/duration.js';
import { judge, MetricTally } from '../../spec/judge.js';
import type { MeasureSeriesInput, MeasureSeriesResult, SeriesMeasurement } from '../types.js';
import type { MetricProvider } from './provider.js';

export async function measureSeries(input: MeasureSeriesInput, provider: MetricProvider): Promise<MeasureSeriesResult> {
  const ctx = Context.current();
  const tally = Object.assign(new MetricTally(input.metric), input.tally);
  const interval = parseDuration(input.metric.interval);
  const measurements: SeriesMeasurement[] = [];
  for (let n = 0; n < input.rounds; n++) {
    if (n > 0) await ctx.sleep(interval); // rejects with CancelledFailure when the release stops the series
    let value: number | null = null;
    let phase: SeriesMeasurement['phase'];
    let message: string | undefined;
    let status: number | undefined;
    try {
      const measured = await provider.measure(input.metric);
      value = measured.value;
      message = measured.message;
      status = measured.status;
      phase = judge(input.metric, value);
    } catch (err) {
      if (err instanceof CancelledFailure) throw err;
      phase = 'error';
      message = (err as Error).message;
    }
    measurements.push({ at: new Date().toISOString(), value, phase, ...(message === undefined ? {} : { message }), ...(status === undefined ? {} : { status }) });
    ctx.heartbeat({ measured: measurements.length });
    const verdict = tally.record(phase);
    const state = tally.state();
    if (verdict) return { measurements, tally: state, verdict };
    if (n === input.rounds - 1) return { measurements, tally: state };
  }
  return { measurements, tally: tally.state() };
}
