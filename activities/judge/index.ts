// The canary judge's statistics: pure functions, no I/O (activities/judge/*).
export { mannWhitney, averageRanks, exactUDistribution, EXACT_MAX_EXCLUSIVE, type MannWhitneyResult } from './mann-whitney.js';
export { normalCdf, normalUpperTail } from './normal.js';
export { twoProportionZTest, type TwoProportionResult } from './proportions.js';
export { cleanSample, quartiles, type CleanOptions, type CleanedSample } from './samples.js';
export {
  judgeSamples,
  judgeProportions,
  effectRatio,
  significanceLevel,
  type Direction,
  type SampleMetricOptions,
  type ProportionMetricOptions,
  type SideSummary,
  type MetricJudgement,
} from './metric-verdict.js';
export { scoreJudgement, DEFAULT_THRESHOLDS, type JudgeThresholds, type ScoreResult } from './score.js';
