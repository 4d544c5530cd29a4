// Release metrics, emitted from the workflow through the SDK's replay-safe meter and exported by
// the worker's Prometheus endpoint (SHIPYARD_METRICS_ADDRESS). Prefixed shipyard_ by the names.
import { metricMeter } from '@temporalio/workflow';

const releases = metricMeter.createCounter('shipyard_releases_total', 'releases', 'Finished releases by outcome');
const rollbacks = metricMeter.createCounter('shipyard_rollbacks_total', 'releases', 'Releases whose compensations ran');
// Milliseconds: the SDK's Prometheus exporter uses millisecond bucket boundaries for histograms.
const stageMillis = metricMeter.createHistogram('shipyard_stage_duration_milliseconds', 'int', 'ms', 'Time spent per stage');
const approvalWait = metricMeter.createHistogram('shipyard_approval_wait_milliseconds', 'int', 'ms', 'Time from a gate opening to its decision');
const stageStarted = metricMeter.createGauge(
  'shipyard_release_stage_started_timestamp_seconds',
  'float',
  's',
  'When the running release entered its current stage (0 once it ended); alert on age',
);

export const releaseMetrics = {
  finished(service: string, outcome: string) {
    releases.add(1, { service, outcome });
  },
  rolledBack(service: string) {
    rollbacks.add(1, { service });
  },
  stage(service: string, stage: string, millis: number) {
    stageMillis.record(Math.max(0, Math.round(millis)), { service, stage });
  },
  stageEntered(service: string, releaseId: string, stage: string, atSeconds: number) {
    stageStarted.set(atSeconds, { service, release: releaseId, stage });
  },
  approval(service: string, decision: string, millis: number) {
    approvalWait.record(Math.max(0, Math.round(millis)), { service, decision });
  },
};
