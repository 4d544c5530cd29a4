// Multi-cluster environments (environments[].clusters, waves): what is accepted, the default waves,
// and every inconsistent combination refused with its path and reason.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { stringify } from 'yaml';
import { parseSpec } from '../../spec/load.js';
import { clusterKey, wavesOf } from '../../spec/clusters-schema.js';
import { issueLines } from '../helpers/spec-issues.js';

const HELM = { helm: { chart: 'oci://registry.local/charts/payments', release: 'payments' } };
const CLUSTERS = [
  { name: 'eu-1', kubeContext: 'eu-1' },
  { name: 'us-1', kubeconfig: '/etc/shipyard/us-1.kubeconfig' },
  { name: 'us-2', kubeContext: 'prod', kubeconfig: '/etc/shipyard/us-2.kubeconfig' },
];

function doc(env: Record<string, unknown>): string {
  return stringify({ service: 'payments-api', source: { repo: 'https://git.example.com/team/payments.git' }, environments: [{ name: 'production', deploy: HELM, ...env }] });
}

describe('environments[].clusters and waves', () => {
  test('clusters with waves parse; each wave names the clusters in order', () => {
    const text = doc({ clusters: CLUSTERS, waves: [['eu-1'], ['us-1', 'us-2']] });
    assert.deepEqual(issueLines(text), []);
    const env = parseSpec(text, 't.yaml').environments[0];
    assert.deepEqual(wavesOf(env).map((w) => w.map((c) => c.name)), [['eu-1'], ['us-1', 'us-2']]);
    assert.equal(wavesOf(env)[1][0].kubeconfig, '/etc/shipyard/us-1.kubeconfig');
    assert.equal(clusterKey('production', 'eu-1'), 'production@eu-1');
  });

  test('approval steps are fine with one cluster per wave (the default waves)', () => {
    const canary = { router: { istio: { virtualService: 'payments' } }, workloads: { stable: 'payments', canary: 'payments-canary' }, steps: [{ setWeight: 10 }, { approval: { approvers: ['alice'] } }] };
    assert.deepEqual(issueLines(doc({ clusters: CLUSTERS, canary })), []);
  });

  test('without waves: one wave per cluster, in the listed order', () => {
    const env = parseSpec(doc({ clusters: CLUSTERS }), 't.yaml').environments[0];
    assert.deepEqual(wavesOf(env).map((w) => w.map((c) => c.name)), [['eu-1'], ['us-1'], ['us-2']]);
    assert.equal(env.waves, undefined);
  });

  test('an environment without clusters is unchanged: the fields stay absent', () => {
    const env = parseSpec(doc({}), 't.yaml').environments[0];
    assert.equal('clusters' in env, false);
    assert.equal('waves' in env, false);
  });

  test('each inconsistent combination is refused with its path and reason', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ clusters: [] }, /environments\[0\]\.clusters: list at least one cluster/],
      [{ clusters: [{ name: 'eu-1' }] }, /environments\[0\]\.clusters\[0\]: cluster 'eu-1' needs kubeContext or kubeconfig \(or both\)/],
      [{ clusters: [{ name: 'EU_1', kubeContext: 'x' }] }, /environments\[0\]\.clusters\[0\]\.name: must be lowercase letters, digits and dashes/],
      [{ clusters: [{ name: 'eu-1', kubeContext: 'a' }, { name: 'eu-1', kubeContext: 'b' }] }, /environments\[0\]\.clusters\[1\]\.name: duplicate cluster 'eu-1'/],
      [{ clusters: CLUSTERS, waves: [['eu-1'], ['us-1', 'us-3']] }, /environments\[0\]\.waves\[1\]\[1\]: unknown cluster 'us-3' \(clusters: eu-1, us-1, us-2\)/],
      [{ clusters: CLUSTERS, waves: [['eu-1', 'us-1'], ['us-1', 'us-2']] }, /environments\[0\]\.waves\[1\]\[0\]: cluster 'us-1' is in wave 1 already: each cluster goes in exactly one wave/],
      [{ clusters: CLUSTERS, waves: [['eu-1'], ['us-1']] }, /environments\[0\]\.waves: every cluster must be in a wave; missing: us-2/],
      [{ clusters: CLUSTERS, waves: [['eu-1'], []] }, /environments\[0\]\.waves\[1\]: a wave lists at least one cluster/],
      [{ waves: [['eu-1']] }, /environments\[0\]\.waves: waves need clusters/],
      [{ clusters: CLUSTERS, kubeContext: 'prod' }, /environments\[0\]\.kubeContext: with clusters, each cluster names its kubeContext/],
      [{ clusters: CLUSTERS, deploy: { helm: { ...HELM.helm, kubeContext: 'prod' } } }, /environments\[0\]\.deploy\.helm\.kubeContext: with clusters, each cluster names its kubeContext/],
      [{ clusters: CLUSTERS, deploy: { gitops: { repo: 'https://git.example.com/ops/config.git', valuesFile: 'v.yaml' } } }, /environments\[0\]\.clusters: clusters need deploy\.helm/],
      [
        { clusters: CLUSTERS, waves: [['eu-1'], ['us-1', 'us-2']], canary: { router: { istio: { virtualService: 'payments' } }, workloads: { stable: 'payments', canary: 'payments-canary' }, steps: [{ setWeight: 10 }, { approval: { approvers: ['alice'] } }] } },
        /environments\[0\]\.waves: canary approval gates .* need one cluster per wave/,
      ],
      [{ clusters: [{ name: 'eu-1', kubeContext: 'a', region: 'eu' }] }, /environments\[0\]\.clusters\[0\].*region/],
    ];
    for (const [env, expected] of cases) assert.match(issueLines(doc(env)).join('\n'), expected, JSON.stringify(env));
  });
});
