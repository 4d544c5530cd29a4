// Kubernetes access for the deploy worker: the kubeconfig in KUBECONFIG (or ~/.kube/config), or the
// in-cluster service account when running in a pod; an environment may name a context, and a cluster
// of a multi-cluster environment a kubeconfig file of its own (KubeTarget).
// The client is cached per (kubeconfig, context) and reloaded when a kubeconfig file changes on disk
// (credentials rotated, cluster recreated at another address): each call compares the files' stat
// stamps, which costs a stat, not a parse. File timestamps are coarse (a few ms), so two writes of the
// same size in one tick look alike: while a file was modified in the last RACY_MS, its contents'
// hash is compared as well (git's "racily clean" rule). The in-cluster token file is re-read by
// client-node itself.
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { AppsV1Api, CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/common';

export interface Kube {
  kc: KubeConfig;
  apps: AppsV1Api;
  core: CoreV1Api;
  custom: CustomObjectsApi;
}

interface Cached {
  stamp: string;
  hash: string;
  /** The stamp cannot be trusted alone yet (a file changed within RACY_MS of when it was taken). */
  racy: boolean;
  kube: Kube;
}

const cache = new Map<string, Cached>();
const RACY_MS = 2000;

/** The files loadFromDefault reads: the KUBECONFIG list, else ~/.kube/config. */
function kubeconfigFiles(): string[] {
  const env = process.env.KUBECONFIG;
  if (env) return env.split(delimiter).filter(Boolean);
  return [join(homedir(), '.kube', 'config')];
}

interface Stamp {
  stamp: string;
  racy: boolean;
}

/** Identity of the files' current contents: inode, size, mtime and ctime (a replaced or rewritten file changes it). */
function stampOf(files: string[]): Stamp {
  let racy = false;
  const stamp = files
    .map((f) => {
      try {
        const s = statSync(f, { bigint: true });
        if (Number(s.mtimeMs) > Date.now() - RACY_MS || Number(s.ctimeMs) > Date.now() - RACY_MS) racy = true;
        return `${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
      } catch {
        return 'absent';
      }
    })
    .join('|');
  return { stamp, racy };
}

function hashOf(files: string[]): string {
  const h = createHash('sha256');
  for (const f of files) {
    try {
      h.update(readFileSync(f));
    } catch {
      h.update('absent');
    }
    h.update('\0');
  }
  return h.digest('hex');
}

/** Which cluster: a context name of the worker's kubeconfig, or a context and/or a kubeconfig file of its own. */
export type KubeTarget = string | { kubeContext?: string; kubeconfig?: string } | undefined;

function load(context?: string, file?: string): Kube {
  const kc = new KubeConfig();
  if (file) kc.loadFromFile(file);
  else kc.loadFromDefault();
  if (context) {
    if (!kc.getContexts().some((c) => c.name === context)) {
      throw ApplicationFailure.nonRetryable(`kube context '${context}' is not in ${file ? `the kubeconfig ${file}` : "the deploy worker's kubeconfig"}`, 'InvalidSpec');
    }
    kc.setCurrentContext(context);
  }
  return { kc, apps: kc.makeApiClient(AppsV1Api), core: kc.makeApiClient(CoreV1Api), custom: kc.makeApiClient(CustomObjectsApi) };
}

export function kube(target?: KubeTarget): Kube {
  const context = typeof target === 'string' ? target : target?.kubeContext;
  const file = typeof target === 'string' ? undefined : target?.kubeconfig;
  const files = file ? [file] : kubeconfigFiles();
  const key = `${files.join(delimiter)}|${context ?? ''}`;
  const { stamp, racy } = stampOf(files);
  const cached = cache.get(key);
  if (cached && cached.stamp === stamp && !cached.racy) return cached.kube;
  const hash = hashOf(files);
  if (cached && cached.hash === hash) {
    // Same contents (touched, or a racy stamp re-checked): keep the client.
    Object.assign(cached, { stamp, racy });
    return cached.kube;
  }
  if (file && stamp === 'absent') throw ApplicationFailure.nonRetryable(`kubeconfig ${file} is not on the deploy worker`, 'InvalidSpec');
  const k = load(context, file);
  cache.set(key, { stamp, hash, racy, kube: k });
  return k;
}

/** HTTP status of a client-node ApiException, if it is one. */
export function statusOf(err: unknown): number | undefined {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'number' ? code : undefined;
}

/** Classifies an API error: 401/403 and 404/422 will not get better by retrying; the rest may. */
export function kubeFailure(what: string, err: unknown): Error {
  const status = statusOf(err);
  const body = (err as { body?: unknown })?.body;
  const detail = typeof body === 'string' ? safeMessage(body) : (err as Error)?.message ?? String(err);
  if (status === 401 || status === 403) return ApplicationFailure.nonRetryable(`${what}: forbidden (${status}): ${detail}`, 'Forbidden');
  if (status === 404 || status === 422 || status === 400) return ApplicationFailure.nonRetryable(`${what}: ${status}: ${detail}`, 'KubeRefused');
  return ApplicationFailure.retryable(`${what}: ${detail}`, 'ClusterUnreachable');
}

function safeMessage(body: string): string {
  try {
    return (JSON.parse(body) as { message?: string }).message ?? body.slice(0, 300);
  } catch {
    return body.slice(0, 300);
  }
}
