// Analyses: inline (a bounded number of rounds, in the release) and background (a child workflow
// that runs until the canary ends and continues as new; see ../../analysis-child.ts).
import {
  ApplicationFailure,
  CancellationScope,
  ChildWorkflowCancellationType,
  getExternalWorkflowHandle,
  isCancellation,
  sleep,
  startChild,
} from '@temporalio/workflow';
import type { MetricSpec } from '../../../spec/schema.js';
import { parseDuration } from '../../../spec/duration.js';
import { judge, MetricTally } from '../../analysis.js';
import { ANALYSIS_FAILED, type analysisWorkflow } from '../../analysis-child.js';
import { analysisStopSignal } from '../../messages.js';
import { errorMessage } from '../../saga.js';
import type { AnalysisRecord } from '../../types.js';
import type { ReleaseState } from '../state.js';

/** Measures each metric `count` times (or for `forMs`) and fails on the first verdict. */
export async function runAnalysis(r: ReleaseState, environment: string, label: string, metrics: MetricSpec[], forMs?: number): Promise<void> {
  const record: AnalysisRecord = { environment, analysis: label, metrics: metrics.map((m) => m.name), phase: 'running' };
  r.status.analyses.push(record);
  const scope = new CancellationScope();
  try {
    await scope.run(() => Promise.all(metrics.map((m) => measureLoop(r, environment, label, m, forMs))));
    record.phase = 'successful';
  } catch (err) {
    record.phase = isCancellation(err) ? 'cancelled' : 'failed';
    if (!isCancellation(err)) record.message = errorMessage(err);
    throw err;
  } finally {
    scope.cancel();
  }
}

async function measureLoop(r: ReleaseState, environment: string, label: string, metric: MetricSpec, forMs?: number): Promise<void> {
  const tally = new MetricTally(metric);
  const interval = parseDuration(metric.interval);
  const count = forMs ? Math.max(1, Math.floor(forMs / interval)) : metric.count;
  // Only specs that set initialDelay take this timer, so older histories replay unchanged.
  if (metric.initialDelay) await sleep(parseDuration(metric.initialDelay));
  for (let n = 0; n < count; n++) {
    if (n > 0) await sleep(interval);
    let value: number | null = null;
    let phase;
    let message: string | undefined;
    let status: number | undefined;
    try {
      const measured = await r.acts.measure.measureMetric({ ...r.ref(environment), metric });
      ({ value, message, status } = measured);
      phase = judge(metric, value);
    } catch (err) {
      if (isCancellation(err)) throw err;
      phase = 'error' as const;
      message = errorMessage(err);
    }
    r.record(r.status.metrics, { environment, metric: metric.name, analysis: label, at: new Date().toISOString(), value, phase, message, ...(status === undefined ? {} : { status }), dryRun: metric.dryRun });
    const verdict = tally.record(phase);
    if (verdict) throw ApplicationFailure.nonRetryable(`analysis ${label} in ${environment}: ${verdict}`, ANALYSIS_FAILED);
  }
  // inconclusive: error never passes on no data (finish() says nothing for the other settings).
  const verdict = tally.finish();
  if (verdict) throw ApplicationFailure.nonRetryable(`analysis ${label} in ${environment}: ${verdict}`, ANALYSIS_FAILED);
}

/**
 * Starts a background analysis as a child workflow. The returned promise settles when it ends:
 * rejected with its AnalysisFailed when a metric fails; `stop()` ends it (it counts as passed).
 */
export async function startBackgroundAnalysis(r: ReleaseState, environment: string, label: string, metrics: MetricSpec[]) {
  const record: AnalysisRecord = { environment, analysis: label, metrics: metrics.map((m) => m.name), phase: 'running', rounds: 0, runs: 1 };
  r.status.analyses.push(record);
  const workflowId = `${r.status.releaseId}/${r.attempt}/analysis/${environment}/${label}`;
  record.workflowId = workflowId;
  // ABANDON: the release stops it by signal (a cancel would reach only its first run); if the
  // release itself ends first, the parent-close policy terminates it.
  const child = await startChild<typeof analysisWorkflow>('analysisWorkflow', {
    workflowId,
    args: [{ parent: { workflowId: r.status.releaseId, runId: r.runId }, ref: r.ref(environment), environment, label, metrics, deployQueue: r.input.taskQueues?.deploy, reportEvery: r.input.analysisReportEvery, historyBudget: r.input.analysisHistoryBudget }],
    cancellationType: ChildWorkflowCancellationType.ABANDON,
  });
  const done = child.result().then(
    (res) => {
      record.phase = r.aborted ? 'cancelled' : 'successful';
      record.rounds = res.rounds;
      record.runs = res.runs;
    },
    (err) => {
      if (isCancellation(err)) {
        record.phase = 'cancelled';
        throw err;
      }
      record.phase = 'failed';
      record.message = errorMessage(err);
      throw ApplicationFailure.nonRetryable(record.message, ANALYSIS_FAILED);
    },
  );
  const stop = () => CancellationScope.nonCancellable(() => getExternalWorkflowHandle(workflowId).signal(analysisStopSignal).catch(() => undefined));
  return { done, stop, record };
}
