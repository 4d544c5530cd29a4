// analysisWorkflow: a background analysis as a child of the release. It measures each metric every
// interval until the release stops it (or a metric fails, which fails it with AnalysisFailed), so a
// 24 h approval at a 30 s interval means thousands of rounds: they happen here, in series of up to
// a minute each (one heartbeating activity judges them as they come and stops at a verdict), and
// this workflow continues as new whenever Temporal suggests it, carrying each metric's tally. The
// release gets the measurements in batches (a signal per `reportEvery` measurements, or at once when
// one is not successful), so its own history stays bounded however long the analysis runs.
import {
  ApplicationFailure,
  CancellationScope,
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  isCancellation,
  proxyActivities,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { DeployActivities, ReleaseRef, TallyState } from '../activities/types.js';
import { HEARTBEAT_TIMEOUT } from './activity-options.js';
import type { MetricSpec } from '../spec/schema.js';
import { parseDuration } from '../spec/duration.js';
import { MetricTally } from './analysis.js';
import { analysisReportSignal, analysisStopSignal, TASK_QUEUES } from './messages.js';
import { errorMessage } from './saga.js';
import type { MetricMeasurement } from './types.js';

export const ANALYSIS_FAILED = 'AnalysisFailed';

export interface AnalysisWorkflowInput {
  parent: { workflowId: string; runId: string };
  ref: ReleaseRef;
  environment: string;
  label: string;
  metrics: MetricSpec[];
  deployQueue?: string;
  reportEvery?: number;
  /** Continue as new once a run's history reaches this many events (default 4,000). */
  historyBudget?: number;
  /** Carried across continue-as-new. */
  carried?: { tallies: Record<string, TallyState>; rounds: number; runs: number };
}

export interface AnalysisWorkflowResult {
  rounds: number;
  runs: number;
}

/** A series lasts about a minute (at most 500 measurements); reports to the release follow `reportEvery`. */
const SERIES_MS = 60_000;
const SERIES_MAX = 500;
/** The release keeps this many recent measurements; a report never carries more. */
const REPORT_MAX = 200;

export async function analysisWorkflow(input: AnalysisWorkflowInput): Promise<AnalysisWorkflowResult> {
  const parent = getExternalWorkflowHandle(input.parent.workflowId, input.parent.runId);
  const reportEvery = input.reportEvery ?? 50;
  let rounds = input.carried?.rounds ?? 0;
  const runs = (input.carried?.runs ?? 0) + 1;
  let stopped = false;
  let buffer: MetricMeasurement[] = [];
  const tallies: Record<string, TallyState> = {};
  for (const m of input.metrics) tallies[m.name] = input.carried?.tallies[m.name] ?? { failures: 0, consecutiveErrors: 0, measurements: 0 };
  const series = new CancellationScope();
  setHandler(analysisStopSignal, () => {
    stopped = true;
    series.cancel(); // the series in flight stops between two measurements
  });

  const report = async () => {
    if (!buffer.length) return;
    const measurements = buffer.slice(-REPORT_MAX);
    buffer = [];
    await parent.signal(analysisReportSignal, { environment: input.environment, analysis: input.label, measurements, rounds, runs });
  };
  // Temporal's suggestion (a few thousand events), or our own budget, whichever comes first.
  const handOver = () => stopped || workflowInfo().continueAsNewSuggested || workflowInfo().historyLength >= (input.historyBudget ?? 4_000);

  const loop = async (metric: MetricSpec) => {
    const interval = parseDuration(metric.interval);
    const batch = Math.max(1, Math.min(SERIES_MAX, Math.floor(SERIES_MS / interval)));
    const acts = proxyActivities<DeployActivities>({
      taskQueue: input.deployQueue ?? TASK_QUEUES.deploy,
      startToCloseTimeout: batch * (interval + 15_000) + 60_000,
      heartbeatTimeout: HEARTBEAT_TIMEOUT,
      retry: { initialInterval: '1s', maximumAttempts: 3 },
    });
    let first = (input.carried?.rounds ?? 0) === 0;
    // The first run of the chain waits initialDelay (set only by newer specs); a stop ends the wait.
    if (metric.initialDelay && !input.carried) await condition(() => stopped, parseDuration(metric.initialDelay));
    while (!handOver()) {
      if (!first) await condition(() => stopped, interval);
      first = false;
      if (handOver()) return;
      let result;
      try {
        result = await series.run(() => acts.measureSeries({ ...input.ref, environment: input.environment, metric, rounds: batch, tally: tallies[metric.name] }));
      } catch (err) {
        if (stopped && isCancellation(err)) return;
        if (isCancellation(err)) throw err;
        // The series itself failed (worker lost, provider broken): one error measurement, judged as such.
        const t = Object.assign(new MetricTally(metric), tallies[metric.name]);
        const verdict = t.record('error');
        result = { measurements: [{ at: new Date().toISOString(), value: null, phase: 'error' as const, message: errorMessage(err) }], tally: tallyState(t), verdict };
      }
      tallies[metric.name] = result.tally;
      rounds += result.measurements.length;
      for (const m of result.measurements) buffer.push({ environment: input.environment, metric: metric.name, analysis: input.label, ...m, dryRun: metric.dryRun });
      if (result.verdict) {
        await report();
        throw ApplicationFailure.nonRetryable(`analysis ${input.label} in ${input.environment}: ${result.verdict}`, ANALYSIS_FAILED);
      }
      if (buffer.length >= reportEvery || result.measurements.some((m) => m.phase !== 'successful')) await report();
    }
  };

  await Promise.all(input.metrics.map(loop));
  await report();
  if (stopped) {
    // inconclusive: error never passes on no data: a metric whose measurements were all gaps or
    // errors fails the analysis when it ends. (A series in flight at the stop is cancelled and not
    // reported, so a metric with no reported measurement at all is not judged here.)
    for (const metric of input.metrics) {
      const t = Object.assign(new MetricTally(metric), tallies[metric.name]);
      const verdict = t.measurements > 0 ? t.finish() : undefined;
      if (verdict) throw ApplicationFailure.nonRetryable(`analysis ${input.label} in ${input.environment}: ${verdict}`, ANALYSIS_FAILED);
    }
    return { rounds, runs };
  }
  // History is getting long: hand the tallies to a fresh run.
  await condition(allHandlersFinished);
  return continueAsNew<typeof analysisWorkflow>({ ...input, carried: { tallies, rounds, runs } });
}

function tallyState(t: MetricTally): TallyState {
  return t.state();
}
