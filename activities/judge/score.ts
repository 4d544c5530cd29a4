// The canary's overall score from its metrics' verdicts (Kayenta-style):
//   score = 100 × (weights of passing metrics) / (all weights), rounded to 2 decimals; an inconclusive
//   metric counts as not passing. A failed critical metric: score 0, verdict fail. An inconclusive
//   critical metric caps the verdict at marginal. Then score >= pass → pass, >= marginal → marginal,
//   else fail. No metrics, or weights summing to 0: fail (nothing says the canary is good).
import type { MetricJudgement } from './metric-verdict.js';

export interface JudgeThresholds {
  pass: number;
  marginal: number;
}

export const DEFAULT_THRESHOLDS: JudgeThresholds = Object.freeze({ pass: 95, marginal: 75 });

export interface ScoreResult {
  score: number;
  verdict: 'pass' | 'marginal' | 'fail';
  reason: string;
}

export function scoreJudgement(metrics: MetricJudgement[], t: JudgeThresholds = DEFAULT_THRESHOLDS): ScoreResult {
  for (const m of metrics) {
    if (!(Number.isFinite(m.weight) && m.weight >= 0)) throw new RangeError(`metric ${m.metric}: weight must be a finite number >= 0, got ${m.weight}`);
  }
  if (!(Number.isFinite(t.pass) && Number.isFinite(t.marginal))) throw new RangeError(`thresholds must be finite numbers, got pass=${t.pass} marginal=${t.marginal}`);
  if (metrics.length === 0) return { score: 0, verdict: 'fail', reason: 'no metrics were judged: nothing shows the canary is healthy' };

  const criticalFailed = metrics.filter((m) => m.critical && m.verdict === 'fail');
  if (criticalFailed.length) {
    const which = criticalFailed.map((m) => `${m.metric} (${m.reason})`).join('; ');
    return { score: 0, verdict: 'fail', reason: `critical metric${criticalFailed.length > 1 ? 's' : ''} failed: ${which}` };
  }
  const total = metrics.reduce((s, m) => s + m.weight, 0);
  if (total === 0) return { score: 0, verdict: 'fail', reason: `the weights of all ${metrics.length} metrics are 0: no score` };
  const passed = metrics.filter((m) => m.verdict === 'pass');
  const score = Math.round(((100 * passed.reduce((s, m) => s + m.weight, 0)) / total) * 100) / 100;

  const names = (v: MetricJudgement['verdict']) => metrics.filter((m) => m.verdict === v).map((m) => m.metric);
  const failed = names('fail');
  const inconclusive = names('inconclusive');
  const detail = [
    `${passed.length} of ${metrics.length} metrics passed`,
    ...(failed.length ? [`failed: ${failed.join(', ')}`] : []),
    ...(inconclusive.length ? [`inconclusive: ${inconclusive.join(', ')}`] : []),
  ].join('; ');
  const byScore: ScoreResult['verdict'] = score >= t.pass ? 'pass' : score >= t.marginal ? 'marginal' : 'fail';
  const criticalUnsure = metrics.filter((m) => m.critical && m.verdict === 'inconclusive').map((m) => m.metric);
  if (byScore === 'pass' && criticalUnsure.length) {
    return { score, verdict: 'marginal', reason: `score ${score} >= pass ${t.pass} (${detail}), but critical metric${criticalUnsure.length > 1 ? 's' : ''} ${criticalUnsure.join(', ')} inconclusive: marginal at best` };
  }
  const cmp = byScore === 'pass' ? `>= pass ${t.pass}` : byScore === 'marginal' ? `>= marginal ${t.marginal}, < pass ${t.pass}` : `< marginal ${t.marginal}`;
  return { score, verdict: byScore, reason: `score ${score} ${cmp} (${detail}): ${byScore}` };
}
