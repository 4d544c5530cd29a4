// deploy/rbac.yaml against the real API server: the deploy worker's service account can do what a
// release needs in a bound namespace, and nothing in an unbound one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const RBAC = fileURLToPath(new URL('../../../deploy/rbac.yaml', import.meta.url));
const can = (verb: string, resource: string, ns: string) =>
  execFileSync('kubectl', ['auth', 'can-i', verb, resource, '-n', ns, '--as', 'system:serviceaccount:shipyard:shipyard-deploy'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() === 'yes';
const canOrNo = (verb: string, resource: string, ns: string) => {
  try {
    return can(verb, resource, ns);
  } catch {
    return false; // kubectl auth can-i exits 1 for "no"
  }
};

test('the deploy worker may deploy, roll back, shift Istio and Gateway API weights and read health in a bound namespace only', () => {
  execFileSync('sh', ['-c', 'kubectl create namespace staging --dry-run=client -o yaml | kubectl apply -f -'], { encoding: 'utf8' });
  execFileSync('kubectl', ['apply', '-f', RBAC], { encoding: 'utf8' });
  for (const [verb, resource] of [['patch', 'deployments'], ['create', 'secrets'], ['delete', 'services'], ['patch', 'virtualservices.networking.istio.io'], ['create', 'virtualservices.networking.istio.io'], ['delete', 'virtualservices.networking.istio.io'], ['update', 'httproutes.gateway.networking.k8s.io'], ['get', 'httproutes.gateway.networking.k8s.io'], ['update', 'deployments/scale']]) {
    assert.equal(canOrNo(verb, resource, 'staging'), true, `${verb} ${resource} in staging`);
  }
  assert.equal(canOrNo('list', 'pods', 'kube-system'), true, 'reads health anywhere');
  assert.equal(canOrNo('watch', 'applications.argoproj.io', 'argocd'), true);
  for (const [verb, resource] of [['create', 'deployments'], ['get', 'secrets'], ['patch', 'virtualservices.networking.istio.io'], ['update', 'httproutes.gateway.networking.k8s.io']]) {
    assert.equal(canOrNo(verb, resource, 'kube-system'), false, `no ${verb} ${resource} outside bound namespaces`);
  }
  assert.equal(canOrNo('create', 'clusterroles', 'default'), false);
});
