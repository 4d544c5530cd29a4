// A canary step in one line, as the release reports it (status.canary.description, canary history)
// and as the dashboard lists a spec's steps. Pure: the workflow and the client both use it.
import type { CanaryStep } from './schema.js';

export function describeStep(step: CanaryStep): string {
  if ('setWeight' in step) return `setWeight ${step.setWeight}`;
  if ('pause' in step) return step.pause.duration ? `pause ${step.pause.duration}` : 'pause until resumed';
  if ('analysis' in step) return `analysis ${step.analysis.metrics.join(', ')}${step.analysis.background ? ' (background)' : ''}`;
  if ('judge' in step) return `judge ${step.judge.metrics?.join(', ') ?? 'all metrics'} over ${step.judge.window}`;
  if ('fault' in step) return `fault ${[step.fault.delay && `delay ${step.fault.delay.percent}%`, step.fault.abort && `abort ${step.fault.abort.percent}%`].filter(Boolean).join(', ')} for ${step.fault.duration}`;
  return 'approval';
}
