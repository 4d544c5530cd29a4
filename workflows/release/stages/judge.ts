// Judge steps: one statistical judgement of the canary against the baseline (canary.judge) over a
// window the workflow fixes (waited out first unless `wait: false`). The activity samples and
// scores; here the verdict is acted on: pass goes on, fail rolls back, a marginal score does what
// canary.judge.marginal says (fail, wait for the environment's approvers, or continue).
import { ApplicationFailure, sleep } from '@temporalio/workflow';
import type { EnvironmentSpec } from '../../../spec/schema.js';
import type { JudgeStep } from '../../../spec/judge-schema.js';
import { parseDuration } from '../../../spec/duration.js';
import { ANALYSIS_FAILED } from '../../analysis-child.js';
import type { JudgementRecord } from '../../types.js';
import { approvalGate } from '../gates.js';
import type { Notifier } from '../notify.js';
import type { ReleaseState } from '../state.js';

export async function runJudge(r: ReleaseState, notifier: Notifier, env: EnvironmentSpec, step: JudgeStep, index: number): Promise<void> {
  const judge = env.canary!.judge!;
  const label = `step-${index + 1}`;
  const windowMs = parseDuration(step.window);
  if (step.wait) await sleep(windowMs);
  const end = Date.now();
  const judgement = await r.acts.judge.judgeCanary({ ...r.ref(env.name), judge, metrics: step.metrics, start: new Date(end - windowMs).toISOString(), end: new Date(end).toISOString() });
  const record: JudgementRecord = { environment: env.name, step: label, at: new Date(end).toISOString(), window: step.window, ...judgement };
  r.record((r.status.judgements ??= []), record);
  const summary = `judgement ${label} in ${env.name}: score ${judgement.score} (${judgement.verdict}): ${judgement.reason}`;
  if (judgement.verdict === 'pass') return;
  if (judgement.verdict === 'fail' || judge.marginal === 'fail') throw ApplicationFailure.nonRetryable(summary, ANALYSIS_FAILED);
  if (judge.marginal === 'continue') {
    record.action = 'continued';
    return;
  }
  record.action = 'approval';
  const approval = env.approval!;
  await approvalGate(r, notifier, `${env.name}/canary/judge-${label}`, env.name, {
    approvers: approval.approvers,
    required: approval.required,
    timeout: approval.timeout,
    fourEyes: approval.fourEyes,
  });
}
