// The traffic router contract, shaped like Argo Rollouts' trafficrouting plugins: one implementation
// per mesh or ingress (Istio first), all behind the same operations.
import type { RouterSpec } from '../../spec/schema.js';
import type { RouteWeights, UndoResult } from '../types.js';

export interface TrafficTarget {
  router: RouterSpec;
  namespace: string;
  kubeContext?: string;
  /** A cluster's own kubeconfig file (multi-cluster environments). */
  kubeconfig?: string;
  /** Host mode (generated canary): stable and canary destinations are two Services, no subsets. */
  hosts?: { stable: string; canary: string };
}

export interface FaultSpec {
  delay?: { percent: number; fixedDelay: string };
  abort?: { percent: number; httpStatus: number };
}

export interface TrafficRouter {
  /** Current stable/canary weights of the managed route (and a check that the subsets exist). */
  getWeights(t: TrafficTarget): Promise<RouteWeights>;
  /** Sets and verifies the weights; a no-op when they are already set. */
  setWeights(t: TrafficTarget, w: RouteWeights): Promise<RouteWeights>;
  /** Applies (or with null removes) a fault on the managed route. */
  setFault(t: TrafficTarget, fault: FaultSpec | null): Promise<void>;
  /** Compensation: sets the recorded weights; `skipped` when the route is gone, weights read back. */
  restoreWeights(t: TrafficTarget, w: RouteWeights): Promise<UndoResult>;
  /** Compensation: removes the fault; `skipped` when the route is gone, `unchanged` when it had none. */
  clearFault(t: TrafficTarget): Promise<UndoResult>;
}
