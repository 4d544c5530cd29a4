// The gateway's configuration: where it listens, where its secrets are, how events route to
// releases, and which chat user is which Shipyard approver. YAML, validated like a release spec.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { loadSpecFile, SpecError, formatPath } from '../../spec/load.js';
import type { ReleaseSpec } from '../../spec/schema.js';
import { KEY_ID } from '../../config/decision-keys.js';
import { IDENTITY, IDENTITY_RULE } from '../../spec/identity.js';

const FEISHU_API_BASE = 'https://open.feishu.cn';
const envName = z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'must be the NAME of an environment variable');
/** Where one secret comes from. Several per provider are all accepted, for rotation without downtime. */
const SecretSourceSchema = z.union([z.strictObject({ env: envName }), z.strictObject({ file: z.string().min(1) })]);
const Secrets = z.array(SecretSourceSchema).min(1);
export type SecretSource = z.infer<typeof SecretSourceSchema>;

const RouteSchema = z.strictObject({
  name: z.string().min(1).optional(),
  provider: z.enum(['github', 'gitlab', 'generic']).optional().describe('Only events from this provider'),
  repo: z.string().min(1).describe('Glob on the repository path, e.g. team/payments or team/*'),
  event: z.enum(['push', 'tag', 'pull_request']),
  branch: z.string().optional().describe('Glob on the branch (push, pull_request target)'),
  tag: z.string().optional().describe('Glob on the tag name'),
  spec: z.string().min(1).optional().describe('Release spec file, relative to the gateway config; without it the spec is read from the repository'),
  repoUrl: z
    .string()
    .regex(/\{repo\}|^[a-z][a-z0-9+.-]*:\/\//i, 'a git URL, or a template with {repo}')
    .optional()
    .describe('Pipelines as code: the git URL to read the spec from, {repo} replaced by the event\'s repository path (never taken from the payload)'),
  specPath: z.string().min(1).optional().describe('With repoUrl: the spec file in the repository (default .shipyard/release.yaml)'),
  environments: z.array(z.string()).optional().describe('Environments to release to; all when unset'),
  buildOnly: z.boolean().default(false).describe('Only run the build (e.g. for pull requests)'),
  untrusted: z.boolean().default(false).describe('The source is untrusted: the test gate and compiler run sandboxed (always so for pull_request routes)'),
  allowForks: z.boolean().default(false).describe('pull_request routes: also build pull requests from forks (otherwise ignored)'),
  version: z.enum(['tag', 'sha']).optional().describe('tag: the tag name (default for tags); sha: short commit'),
});

const IdentitySchema = z
  .strictObject({
    oidc: z
      .strictObject({
        issuer: z.string().url().describe('The identity provider, exactly as its ID tokens name it (iss)'),
        audience: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).describe('Client id(s) the ID tokens are issued to'),
        identityClaim: z.string().min(1).default('email').describe('Claim that is the Shipyard identity (approvers list these)'),
        groupsClaim: z.string().min(1).default('groups').describe('Claim with the groups (approvers: group:<name>)'),
      })
      .optional()
      .describe('Verify bearer ID tokens on /api (and the codec endpoint) with this OpenID Connect provider'),
    signingKeys: z
      .array(z.strictObject({ kid: z.string().regex(KEY_ID, 'a key id is 1-64 letters, digits, . _ -'), key: SecretSourceSchema }))
      .min(1)
      .optional()
      .describe('Ed25519 private keys (PEM) for decision statements; the first signs, all are published (rotation)'),
    statementTtlSeconds: z.number().int().min(10).max(600).default(120).describe('Lifetime of a signed decision statement'),
  })
  .default({ statementTtlSeconds: 120 });

const LabelName = z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'a Prometheus label name');
const AlertmanagerSchema = z
  .strictObject({
    bearer: Secrets.optional().describe("Tokens Alertmanager sends as Authorization: Bearer (webhook_config http_config.authorization.credentials); several during a rotation"),
    basic: z
      .strictObject({ username: z.string().min(1), password: Secrets })
      .optional()
      .describe('Or HTTP basic auth (http_config.basic_auth)'),
    identity: z.string().regex(IDENTITY, IDENTITY_RULE).default('alertmanager').describe('Who the release records as the aborter'),
    matchers: z
      .strictObject({ service: LabelName.default('shipyard_service'), environment: LabelName.default('shipyard_environment') })
      .default({ service: 'shipyard_service', environment: 'shipyard_environment' })
      .describe('Alert labels naming the service and the environment whose canaries a firing alert aborts'),
    bodyLimit: z.number().int().min(1024).max(25 * 1024 * 1024).default(256 * 1024).describe('Largest webhook body, bytes'),
  })
  .describe('POST /webhooks/alertmanager: a firing alert aborts the matching releases in their canary stage');

export const GatewayConfigSchema = z.strictObject({
  listen: z.strictObject({ host: z.string().default('127.0.0.1'), port: z.number().int().min(0).max(65535).default(8088) }).default({ host: '127.0.0.1', port: 8088 }),
  bodyLimit: z.number().int().min(1024).max(25 * 1024 * 1024).default(1024 * 1024).describe('Largest request body, bytes'),
  replayWindowSeconds: z.number().int().min(30).max(3600).default(300).describe('Timestamped requests older or newer than this are refused'),
  retryAfterSeconds: z.number().int().min(1).default(30).describe('Retry-After on 503 while Temporal is unreachable'),
  secrets: z
    .strictObject({
      github: Secrets.optional(),
      gitlab: Secrets.optional(),
      generic: Secrets.optional(),
      slack: Secrets.optional(),
      feishu: z
        .strictObject({
          verificationToken: Secrets,
          encryptKey: Secrets.optional(),
          appId: Secrets.optional().describe('The Feishu app (with appSecret): card callbacks are answered at once and the card is updated with the result later'),
          appSecret: Secrets.optional(),
        })
        .optional(),
      dingtalk: Secrets.optional(),
    })
    .default({}),
  codec: z
    .strictObject({
      token: Secrets.default([{ env: 'SHIPYARD_CODEC_TOKEN' }]).describe('Bearer token(s) the Temporal UI (or tctl/temporal CLI) sends to /codec/*; several during a rotation'),
      allowedOrigins: z.array(z.string().regex(/^https?:\/\/[^/\s]+$/, 'an origin: scheme://host[:port], no path')).default(['http://localhost:8233', 'http://127.0.0.1:8233']).describe('Browser origins (the Temporal UI) allowed to call /codec/* (CORS)'),
    })
    .default({ token: [{ env: 'SHIPYARD_CODEC_TOKEN' }], allowedOrigins: ['http://localhost:8233', 'http://127.0.0.1:8233'] })
    .describe('The payload codec endpoint for the Temporal UI: /codec/encode and /codec/decode (needs codec keys, config/payload-codec.ts)'),
  routes: z.array(RouteSchema).default([]),
  alertmanager: AlertmanagerSchema.optional(),
  dora: z
    .strictObject({
      metricsWindowDays: z.number().int().min(1).max(365).default(30).describe('The window of the shipyard_dora_* gauges on /metrics'),
      metrics: z.boolean().default(true).describe('Export DORA gauges on /metrics (computed at scrape time, cached 60 s)'),
    })
    .default({ metricsWindowDays: 30, metrics: true })
    .describe('DORA metrics from release records: GET /api/dora and the shipyard_dora_* gauges'),
  identity: IdentitySchema.describe('Who may decide: ID token verification and the keys that sign decision statements'),
  senders: z
    .strictObject({
      github: z.record(z.string(), z.string()).optional(),
      gitlab: z.record(z.string(), z.string()).optional(),
      generic: z.record(z.string(), z.string()).optional(),
    })
    .default({})
    .describe('Git-host user -> Shipyard identity, per provider: who triggered a release (four-eyes compares approvers with it)'),
  chat: z
    .strictObject({
      users: z
        .strictObject({
          slack: z.record(z.string(), z.string()).default({}),
          feishu: z.record(z.string(), z.string()).default({}),
          dingtalk: z.record(z.string(), z.string()).default({}),
        })
        .default({ slack: {}, feishu: {}, dingtalk: {} }),
      feishuApiBase: z
        .string()
        .url()
        .default(FEISHU_API_BASE)
        .describe('Feishu Open API base URL for tenant tokens and card updates (Lark: https://open.larksuite.com)'),
    })
    .default({ users: { slack: {}, feishu: {}, dingtalk: {} }, feishuApiBase: FEISHU_API_BASE }),
});

export type GatewayConfig = z.output<typeof GatewayConfigSchema>;
export type RouteConfig = z.output<typeof RouteSchema>;
export type AlertmanagerConfig = z.output<typeof AlertmanagerSchema>;

export interface LoadedRoute extends RouteConfig {
  /** The spec of a `spec:` route; undefined for a route that reads it from the repository (repoUrl). */
  releaseSpec?: ReleaseSpec;
}

export interface LoadedGatewayConfig extends GatewayConfig {
  loadedRoutes: LoadedRoute[];
}

/** Validates a config object; route specs are loaded relative to `baseDir` and validated now, not at the first webhook. */
export function resolveGatewayConfig(data: unknown, baseDir: string, source = 'gateway config'): LoadedGatewayConfig {
  const result = GatewayConfigSchema.safeParse(data ?? {});
  if (!result.success) {
    throw new SpecError(source, result.error.issues.map((i) => ({ path: formatPath(i.path), message: i.message })));
  }
  const config = result.data;
  // Secret files are relative to the config file too.
  const resolveFiles = (list?: SecretSource[]) => list?.forEach((src) => 'file' in src && !isAbsolute(src.file) && (src.file = resolve(baseDir, src.file)));
  const { github, gitlab, generic, slack, feishu, dingtalk } = config.secrets;
  [github, gitlab, generic, slack, feishu?.verificationToken, feishu?.encryptKey, feishu?.appId, feishu?.appSecret, dingtalk, config.codec.token].forEach(resolveFiles);
  resolveFiles(config.identity.signingKeys?.map((k) => k.key));
  [config.alertmanager?.bearer, config.alertmanager?.basic?.password].forEach(resolveFiles);
  if (feishu && !feishu.appId !== !feishu.appSecret) {
    throw new SpecError(source, [{ path: 'secrets.feishu', message: 'appId and appSecret go together (the tenant access token needs both)' }]);
  }
  const loadedRoutes = config.routes.map((route, i): LoadedRoute => {
    if (!route.spec === !route.repoUrl) {
      throw new SpecError(source, [{ path: `routes[${i}]`, message: 'needs exactly one of spec (a spec file here) or repoUrl (the spec is read from the repository)' }]);
    }
    if (route.specPath && !route.repoUrl) throw new SpecError(source, [{ path: `routes[${i}].specPath`, message: 'specPath goes with repoUrl' }]);
    if (!route.spec) return { ...route };
    const file = isAbsolute(route.spec) ? route.spec : resolve(baseDir, route.spec);
    const releaseSpec = loadSpecFile(file);
    const known = releaseSpec.environments.map((e) => e.name);
    const unknown = (route.environments ?? []).filter((e) => !known.includes(e));
    if (unknown.length) {
      throw new SpecError(source, [{ path: `routes[${i}].environments`, message: `unknown environment(s) ${unknown.join(', ')} in ${route.spec}` }]);
    }
    return { ...route, releaseSpec };
  });
  return { ...config, loadedRoutes };
}

export function loadGatewayConfig(path: string): LoadedGatewayConfig {
  let data: unknown;
  try {
    data = parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new SpecError(path, [{ path: '', message: `cannot read: ${(err as Error).message}` }]);
  }
  return resolveGatewayConfig(data, dirname(resolve(path)), path);
}

/**
 * Settings the gateway refuses to run with in production (SHIPYARD_MODE=production, as for the
 * deploy worker's egress policy); in development they are warnings. Returns the warnings.
 */
export function checkGatewaySecurity(config: GatewayConfig, env: NodeJS.ProcessEnv = process.env): string[] {
  const problems: string[] = [];
  const feishu = config.secrets.feishu;
  if (feishu && !feishu.encryptKey) {
    // Token-only callbacks are unsigned: the token is a shared password, sent with every request.
    problems.push('Feishu is configured without an encrypt key: callbacks are checked by token only (no signature); set secrets.feishu.encryptKey');
  }
  const am = config.alertmanager;
  if (am && !am.bearer && !am.basic) {
    // Anyone who can reach the gateway could abort canaries with a made-up alert.
    problems.push('alertmanager is configured without authentication: set alertmanager.bearer or alertmanager.basic');
  }
  if (problems.length && env.SHIPYARD_MODE === 'production') {
    throw new Error(`refusing to start in production mode (SHIPYARD_MODE=production): ${problems.join('; ')}`);
  }
  return problems;
}
