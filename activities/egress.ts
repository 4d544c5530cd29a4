// Egress policy of the deploy worker: a release spec names endpoints (JIRA base URL) and the
// environment variables that hold URLs and credentials (webhookEnv, urlEnv, smtpUrlEnv,
// credentialsEnv); the worker's own configuration decides which of those may be used, so a spec
// cannot send a worker variable to a host of its choosing.
//   SHIPYARD_EGRESS_ALLOW        comma-separated hosts a release may talk to: `hooks.slack.com`,
//                                `*.atlassian.net` (any subdomain), `127.0.0.1:8099` (that port only)
//   SHIPYARD_SECRET_ENV_PREFIXES comma-separated prefixes the variables a spec names must start with,
//                                e.g. `SHIPYARD_SECRET_`
//   SHIPYARD_MODE=production     both are required: unset means nothing is allowed
// In development (the default) an unset setting allows everything. Read at each call, so a worker's
// configuration applies without restarting activities.
import { ApplicationFailure } from '@temporalio/common';

export interface EgressSettings {
  production: boolean;
  allow?: string[];
  secretPrefixes?: string[];
}

const list = (v: string | undefined) => (v === undefined ? undefined : v.split(',').map((s) => s.trim()).filter(Boolean));

export function egressSettings(env: NodeJS.ProcessEnv = process.env): EgressSettings {
  return { production: env.SHIPYARD_MODE === 'production', allow: list(env.SHIPYARD_EGRESS_ALLOW), secretPrefixes: list(env.SHIPYARD_SECRET_ENV_PREFIXES) };
}

/** Whether `host` (and `port`) match one allowlist entry: exact host, `*.domain`, optionally `:port`. */
export function hostAllowed(entry: string, host: string, port: string): boolean {
  const m = /^(.*?)(?::(\d+|\*))?$/.exec(entry.toLowerCase())!;
  const [pattern, entryPort] = [m[1], m[2]];
  if (entryPort && entryPort !== '*' && entryPort !== port) return false;
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return pattern.startsWith('*.') ? h.endsWith(pattern.slice(1)) && h.length > pattern.length - 1 : h === pattern;
}

/** Refuses (EgressDenied, not retried) a URL whose host the worker does not allow. Never echoes the URL's path or query. */
export function checkEgress(url: string, purpose: string, settings = egressSettings()): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw ApplicationFailure.nonRetryable(`${purpose}: not a URL`, 'EgressDenied');
  }
  const port = parsed.port || ({ 'https:': '443', 'http:': '80', 'smtp:': '25', 'smtps:': '465' } as Record<string, string>)[parsed.protocol] || '';
  const allow = settings.allow ?? (settings.production ? [] : undefined);
  if (allow === undefined) return;
  if (!allow.some((e) => hostAllowed(e, parsed.hostname, port))) {
    const why = settings.allow ? 'not in SHIPYARD_EGRESS_ALLOW' : 'SHIPYARD_EGRESS_ALLOW is not set (production mode allows nothing without it)';
    throw ApplicationFailure.nonRetryable(`${purpose}: host ${parsed.hostname}${parsed.port ? `:${parsed.port}` : ''} is ${why}`, 'EgressDenied');
  }
}

/** Refuses (SecretNameDenied) an environment variable name a spec may not read on this worker. */
export function checkSecretName(name: string, purpose: string, settings = egressSettings()): void {
  const prefixes = settings.secretPrefixes ?? (settings.production ? [] : undefined);
  if (prefixes === undefined || prefixes.some((p) => name.startsWith(p))) return;
  const why = settings.secretPrefixes ? `does not start with ${prefixes.join(' or ')} (SHIPYARD_SECRET_ENV_PREFIXES)` : 'cannot be read: SHIPYARD_SECRET_ENV_PREFIXES is not set (production mode)';
  throw ApplicationFailure.nonRetryable(`${purpose}: variable ${name} ${why}`, 'SecretNameDenied');
}
