// The worker process's SDK runtime: structured logs and Prometheus metrics.
//   SHIPYARD_LOG_FORMAT   json (default) or text; every line of a workflow or activity log carries
//                         its workflowId/runId (and activity) fields
//   SHIPYARD_LOG_LEVEL    TRACE | DEBUG | INFO (default) | WARN | ERROR
//   SHIPYARD_METRICS_ADDRESS  host:port for the Prometheus endpoint (default 127.0.0.1:9464; "off" disables):
//                         the SDK's worker/runtime metrics and Shipyard's release metrics (metrics.ts)
import { DefaultLogger, Runtime, type LogEntry, type LogLevel } from '@temporalio/worker';

export interface RuntimeSettings {
  logFormat: 'json' | 'text';
  logLevel: LogLevel;
  metricsAddress?: string;
}

export function runtimeSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): RuntimeSettings {
  const address = env.SHIPYARD_METRICS_ADDRESS ?? '127.0.0.1:9464';
  return {
    logFormat: env.SHIPYARD_LOG_FORMAT === 'text' ? 'text' : 'json',
    logLevel: (['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'].includes(env.SHIPYARD_LOG_LEVEL ?? '') ? env.SHIPYARD_LOG_LEVEL : 'INFO') as LogLevel,
    metricsAddress: address === 'off' ? undefined : address,
  };
}

/** One JSON object per line: time, level, message, then the SDK's context (workflowId, runId, activityType...). */
export function jsonLine(entry: LogEntry): string {
  const { meta, ...rest } = entry;
  const fields: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(meta ?? {})) fields[k] = v instanceof Error ? { message: v.message, type: v.name } : v;
  const time = new Date(Number(rest.timestampNanos / 1_000_000n)).toISOString();
  return JSON.stringify({ time, level: rest.level.toLowerCase(), msg: rest.message, ...fields });
}

export function installRuntime(settings: RuntimeSettings = runtimeSettingsFromEnv()): void {
  const logger =
    settings.logFormat === 'json'
      ? new DefaultLogger(settings.logLevel, (entry) => process.stdout.write(`${jsonLine(entry)}\n`))
      : new DefaultLogger(settings.logLevel);
  Runtime.install({
    logger,
    ...(settings.metricsAddress ? { telemetryOptions: { metrics: { prometheus: { bindAddress: settings.metricsAddress } } } } : {}),
  });
}
