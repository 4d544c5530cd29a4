// A real Alertmanager (Debian's prometheus-alertmanager) on 127.0.0.1 with temp storage, clustering off,
// one route that sends every alert at once (group_wait 0s, group_interval 1s) to a webhook with a
// bearer token read from a file (http_config.authorization.credentials_file), as a deployment would.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './net.js';
import { eventually } from './temporal.js';

export interface Alertmanager {
  url: string;
  /** host:port, for Prometheus' alerting config. */
  target: string;
  /** Alerts Alertmanager holds now (its v2 API). */
  alerts(): Promise<{ labels: Record<string, string>; status: { state: string } }[]>;
  stop(): Promise<void>;
}

export interface AlertmanagerOptions {
  webhookUrl: string;
  bearerToken: string;
  /** Labels alerts are grouped by (one webhook per group). */
  groupBy?: string[];
}

export function alertmanagerConfig(opts: AlertmanagerOptions & { tokenFile: string }): string {
  return [
    'route:',
    '  receiver: shipyard',
    `  group_by: [${(opts.groupBy ?? ['alertname', 'shipyard_service', 'shipyard_environment']).map((l) => `'${l}'`).join(', ')}]`,
    '  group_wait: 0s',
    '  group_interval: 1s',
    '  repeat_interval: 1h',
    'receivers:',
    '  - name: shipyard',
    '    webhook_configs:',
    `      - url: '${opts.webhookUrl}'`,
    '        send_resolved: true',
    '        http_config:',
    '          authorization:',
    `            credentials_file: '${opts.tokenFile}'`,
    '',
  ].join('\n');
}

export async function startAlertmanager(opts: AlertmanagerOptions): Promise<Alertmanager> {
  const dir = mkdtempSync(join(tmpdir(), 'am-'));
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, opts.bearerToken, { mode: 0o600 });
  writeFileSync(join(dir, 'alertmanager.yml'), alertmanagerConfig({ ...opts, tokenFile }));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(
    'prometheus-alertmanager',
    [`--config.file=${join(dir, 'alertmanager.yml')}`, `--storage.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address=', '--log.level=error'],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  await eventually(async () => (await fetch(`${url}/-/ready`)).ok, 30_000, 'alertmanager ready');
  return {
    url,
    target: `127.0.0.1:${port}`,
    async alerts() {
      return (await (await fetch(`${url}/api/v2/alerts`)).json()) as { labels: Record<string, string>; status: { state: string } }[];
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** An alerting rule on `expr`, firing at once (for: 0s), labelled for Shipyard's receiver. */
export function alertRule(name: string, expr: string, labels: Record<string, string>, summary: string): string {
  const lines = Object.entries(labels).map(([k, v]) => `          ${k}: '${v}'`);
  return [
    'groups:',
    '  - name: shipyard-canary',
    '    interval: 1s',
    '    rules:',
    `      - alert: ${name}`,
    `        expr: '${expr.replaceAll("'", "''")}'`,
    '        for: 0s',
    '        labels:',
    ...lines,
    '        annotations:',
    `          summary: '${summary.replaceAll("'", "''")}'`,
    '',
  ].join('\n');
}
