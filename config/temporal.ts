// Where Temporal is, from the environment. Shared by workers, the CLI and the gateway.
//   TEMPORAL_ADDRESS      host:port of the frontend (default 127.0.0.1:7233, the embedded dev server)
//   TEMPORAL_NAMESPACE    namespace (default "default")
//   TEMPORAL_API_KEY      API key (Temporal Cloud); turns TLS on
//   TEMPORAL_TLS_CERT / TEMPORAL_TLS_KEY   client certificate and key files (mTLS)
//   TEMPORAL_TLS_CA       CA bundle file for the server certificate
//   TEMPORAL_TLS_SERVER_NAME  SNI / server name override
//   TEMPORAL_TLS=true     TLS with the system CAs and no client certificate
//   SHIPYARD_UI_URL       base URL of the Temporal UI for links (default http://localhost:8233)
//   SHIPYARD_ORCHESTRATOR_QUEUE / SHIPYARD_BUILD_QUEUE / SHIPYARD_DEPLOY_QUEUE
//                         task queues, for dedicated worker pools (defaults shipyard-orchestrator/-build/-deploy)
//   SHIPYARD_CODEC_KEYS / SHIPYARD_CODEC_KEY  payload encryption keys (config/payload-codec.ts); required
//                         with SHIPYARD_MODE=production
import { readFileSync } from 'node:fs';
import type { PayloadCodec } from '@temporalio/common';
import { CodecConfigError, payloadCodecFromEnv } from './payload-codec.js';

export interface TemporalSettings {
  address: string;
  namespace: string;
  apiKey?: string;
  tls?: {
    serverNameOverride?: string;
    serverRootCACertificate?: Buffer;
    clientCertPair?: { crt: Buffer; key: Buffer };
  };
  uiUrl: string;
  /** Encrypts every payload this process writes to history and decrypts what it reads; none in development without keys. */
  payloadCodec?: PayloadCodec;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

function readFile(variable: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new ConfigError(`${variable}=${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

export function temporalSettings(env: NodeJS.ProcessEnv = process.env): TemporalSettings {
  const address = env.TEMPORAL_ADDRESS?.trim() || '127.0.0.1:7233';
  if (!/^[^\s:/]+(:\d{1,5})?$/.test(address) && !/^\[[0-9a-f:]+\](:\d{1,5})?$/i.test(address)) {
    throw new ConfigError(`TEMPORAL_ADDRESS='${address}' is not host:port`);
  }
  const settings: TemporalSettings = {
    address,
    namespace: env.TEMPORAL_NAMESPACE?.trim() || 'default',
    uiUrl: (env.SHIPYARD_UI_URL?.trim() || 'http://localhost:8233').replace(/\/+$/, ''),
  };
  const cert = env.TEMPORAL_TLS_CERT;
  const key = env.TEMPORAL_TLS_KEY;
  if (Boolean(cert) !== Boolean(key)) throw new ConfigError('TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together');
  const wantsTls = Boolean(cert || env.TEMPORAL_TLS_CA || env.TEMPORAL_API_KEY || env.TEMPORAL_TLS_SERVER_NAME) || env.TEMPORAL_TLS === 'true';
  if (wantsTls) {
    settings.tls = {
      serverNameOverride: env.TEMPORAL_TLS_SERVER_NAME || undefined,
      serverRootCACertificate: env.TEMPORAL_TLS_CA ? readFile('TEMPORAL_TLS_CA', env.TEMPORAL_TLS_CA) : undefined,
      clientCertPair: cert && key ? { crt: readFile('TEMPORAL_TLS_CERT', cert), key: readFile('TEMPORAL_TLS_KEY', key) } : undefined,
    };
  }
  if (env.TEMPORAL_API_KEY) settings.apiKey = env.TEMPORAL_API_KEY;
  try {
    const codec = payloadCodecFromEnv(env);
    if (codec) settings.payloadCodec = codec;
  } catch (err) {
    throw err instanceof CodecConfigError ? new ConfigError(err.message) : err;
  }
  return settings;
}

export interface TaskQueueOverrides {
  orchestrator?: string;
  build?: string;
  deploy?: string;
}

/** Task queue overrides from the environment; unset roles use the defaults in workflows/messages.ts. */
export function taskQueueOverrides(env: NodeJS.ProcessEnv = process.env): TaskQueueOverrides {
  const pick = (name: string) => {
    const value = env[name]?.trim();
    if (value && !/^[A-Za-z0-9._-]{1,200}$/.test(value)) throw new ConfigError(`${name}='${value}' is not a task queue name`);
    return value || undefined;
  };
  return {
    orchestrator: pick('SHIPYARD_ORCHESTRATOR_QUEUE'),
    build: pick('SHIPYARD_BUILD_QUEUE'),
    deploy: pick('SHIPYARD_DEPLOY_QUEUE'),
  };
}

/** Link to a release in the Temporal UI. */
export function releaseUrl(settings: Pick<TemporalSettings, 'uiUrl' | 'namespace'>, workflowId: string): string {
  return `${settings.uiUrl}/namespaces/${encodeURIComponent(settings.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}
