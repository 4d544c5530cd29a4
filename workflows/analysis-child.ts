// analysisWorkflow: a background analysis as a child of the release. It measures each metric every
// interval until the release stops it (or a metric fails, which fails it with AnalysisFailed), so a
// 24 h approval at a 30 s interval means thousands of rounds: they happen here, and this workflow
// continues as new whenever Temporal suggests it, carrying each metric's tally. The release gets the
// measurements in batches (a signal per `reportEvery` measurements, or at once when one is not
// successful), so its own history stays bounded however long the analysis runs.
import {
  ApplicationFailure,
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
import type { DeployActivities, ReleaseRef } from '../activities/types.js';
import type { MetricSpec } from '../spec/schema.js';
import { parseDuration } from '../spec/duration.js';
import { judge, MetricTally } from './analysis.js';
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
  /** Carried across continue-as-new. */
  carried?: { tallies: Record<string, { failures: number; consecutiveErrors: number; measurements: number }>; rounds: number; runs: number };
}

export interface AnalysisWorkflowResult {
  rounds: number;
  runs: number;
}

export async function analysisWorkflow(input: AnalysisWorkflowInput): Promise<AnalysisWorkflowResult> {
  const acts = proxyActivities<DeployActivities>({
    taskQueue: input.deployQueue ?? TASK_QUEUES.deploy,
    startToCloseTimeout: '20s',
    retry: { initialInterval: '1s', maximumAttempts: 2 },
  });
  const parent = getExternalWorkflowHandle(input.parent.workflowId, input.parent.runId);
  const reportEvery = input.reportEvery ?? 50;
  let rounds = input.carried?.rounds ?? 0;
  const runs = (input.carried?.runs ?? 0) + 1;
  let stopped = false;
  let buffer: MetricMeasurement[] = [];
  setHandler(analysisStopSignal, () => void (stopped = true));

  const tallies = new Map(input.metrics.map((m) => {
    const t = new MetricTally(m);
    Object.assign(t, input.carried?.tallies[m.name] ?? {});
    return [m.name, t] as const;
  }));
  const report = async () => {
    if (!buffer.length) return;
    const measurements = buffer;
    buffer = [];
    await parent.signal(analysisReportSignal, { environment: input.environment, analysis: input.label, measurements, rounds, runs });
  };
  const handOver = () => stopped || workflowInfo().continueAsNewSuggested;
  const resumed = (input.carried?.rounds ?? 0) > 0;

  const loop = async (metric: MetricSpec) => {
    const tally = tallies.get(metric.name)!;
    const interval = parseDuration(metric.interval);
    for (let n = 0; ; n++) {
      if (n > 0 || resumed) await condition(() => stopped, interval);
      if (handOver()) return;
      let value: number | null = null;
      let phase;
      let message: string | undefined;
      try {
        value = (await acts.measureMetric({ ...input.ref, environment: input.environment, metric })).value;
        phase = judge(metric, value);
      } catch (err) {
        if (isCancellation(err)) throw err;
        phase = 'error' as const;
        message = errorMessage(err);
      }
      rounds++;
      buffer.push({ environment: input.environment, metric: metric.name, analysis: input.label, at: new Date().toISOString(), value, phase, message, dryRun: metric.dryRun });
      const verdict = tally.record(phase);
      if (verdict) {
        await report();
        throw ApplicationFailure.nonRetryable(`analysis ${input.label} in ${input.environment}: ${verdict}`, ANALYSIS_FAILED);
      }
      if (phase !== 'successful' || buffer.length >= reportEvery) await report();
    }
  };

  await Promise.all(input.metrics.map(loop));
  await report();
  if (stopped) return { rounds, runs };
  // History is getting long: hand the tallies to a fresh run.
  await condition(allHandlersFinished);
  const carried = {
    tallies: Object.fromEntries([...tallies].map(([name, t]) => [name, { failures: t.failures, consecutiveErrors: t.consecutiveErrors, measurements: t.measurements }])),
    rounds,
    runs,
  };
  return continueAsNew<typeof analysisWorkflow>({ ...input, carried });
}
