// A ReleaseStatus for pure tests (progress printing, DORA records): every field a release reports,
// empty, with the given ones over it.
import type { ReleaseStatus } from '../../workflows/types.js';

export function releaseStatus(over: Partial<ReleaseStatus>): ReleaseStatus {
  return {
    releaseId: 'release/app/all/0123456789abcdef0123456789abcdef01234567',
    service: 'app',
    version: 'v1',
    commit: '0123456789abcdef0123456789abcdef01234567',
    trigger: { kind: 'cli', by: 'carol' },
    environments: ['staging', 'production'],
    stage: 'done',
    outcome: 'succeeded',
    paused: null,
    policy: null,
    canary: null,
    stages: [],
    approvals: { pending: null, decisions: [] },
    metrics: [],
    analyses: [],
    compensation: [],
    build: null,
    image: null,
    deployments: [],
    notifications: [],
    error: null,
    abort: null,
    startedAt: new Date(0).toISOString(),
    ...over,
  };
}
