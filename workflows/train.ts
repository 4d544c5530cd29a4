// trainWorkflow: several services released in dependency order as one durable release.
//   each service's release is a CHILD releaseWorkflow (<train ID>/<service>), started once every
//   service it depends on is released (and the gate after it approved), at most maxParallel at a time;
//   a release holds its compensation and leases at the end (ReleaseInput.train) until the verdict:
//   all released -> commit all -> succeeded. A service fails -> the ones not started are skipped;
//   rollback train: the released ones roll back one by one in reverse order of release (each by its own
//   compensation); rollback service: the others are committed, the failed one rolled itself back.
import {
  ApplicationFailure,
  CancellationScope,
  ChildWorkflowFailure,
  condition,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  ParentClosePolicy,
  proxyLocalActivities,
  setHandler,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
  type ChildWorkflowHandle,
} from '@temporalio/workflow';
import type { CoordinationActivities } from '../activities/coordination-types.js';
import { parseDuration } from '../spec/duration.js';
import { validateDecision, type TrustContext } from './approval.js';
import { verifyStatement, type DecisionTrust } from './decision-statement.js';
import { RELEASE_FAILURE_TYPES } from './messages.js';
import { SA } from './search-attributes.js';
import { TRAIN_FAILURE_TYPES, trainApproveUpdate, trainRejectUpdate, trainReleasedSignal, trainStatusQuery, trainVerdictSignal } from './train-messages.js';
import type { TrainDecisionReply, TrainDecisionRequest, TrainGateStatus, TrainInput, TrainServiceStatus, TrainStatus } from './train-types.js';
import type { ReleaseInput, ReleaseStatus } from './types.js';

const local = proxyLocalActivities<Pick<CoordinationActivities, 'decisionTrust'>>({
  startToCloseTimeout: '10s',
  retry: { initialInterval: '1s', maximumInterval: '10s', maximumAttempts: 10 },
});

type ReleaseWorkflow = (input: ReleaseInput) => Promise<ReleaseStatus>;

interface Child {
  handle: ChildWorkflowHandle<ReleaseWorkflow>;
  /** Settles when the release ends (never rejects): its outcome. */
  ended: Promise<void>;
}

export async function trainWorkflow(input: TrainInput): Promise<TrainStatus> {
  const info = workflowInfo();
  const { train } = input;
  const missing = train.services.filter((s) => !input.commits[s.name]).map((s) => s.name);
  if (missing.length) throw ApplicationFailure.nonRetryable(`no commit for ${missing.join(', ')}`, 'InvalidTrainInput');
  const st: TrainStatus = {
    trainId: info.workflowId,
    name: train.name,
    rollback: train.rollback,
    maxParallel: train.maxParallel,
    trigger: { kind: input.trigger.kind, by: input.trigger.by },
    outcome: 'running',
    services: train.services.map((s) => ({ name: s.name, dependsOn: s.dependsOn, releaseId: `${info.workflowId}/${s.name}`, commit: input.commits[s.name], state: 'pending' })),
    gates: train.gates.map((g) => ({
      after: g.after,
      state: 'closed',
      approvers: g.approval?.approvers ?? [],
      required: g.approval?.required ?? 0,
      timeout: g.approval?.timeout ?? '0s',
      approvedBy: [],
      decisions: [],
      ...(g.approval?.fourEyes ? { fourEyes: true } : {}),
    })),
    startedAt: new Date().toISOString(),
  };
  const svc = (name: string) => st.services.find((s) => s.name === name)!;
  const gateAfter = (name: string) => st.gates.find((g) => g.after === name);
  const children = new Map<string, Child>();
  /** Services in the order they were released: rollback goes the other way. */
  const releasedOrder: string[] = [];
  let changes = 0;
  const changed = () => changes++;
  let trust: DecisionTrust | undefined;
  const used = new Map<string, number>();

  setHandler(trainStatusQuery, () => st);
  setHandler(trainReleasedSignal, (report) => {
    const s = st.services.find((x) => x.name === report?.service);
    if (!s || s.state !== 'running') return;
    s.state = 'released';
    s.releasedAt = new Date().toISOString();
    releasedOrder.push(s.name);
    const gate = gateAfter(s.name);
    if (gate) openGate(gate);
    changed();
  });
  /** Whether the trigger's start statement (signed for this train) vouched for input.trigger.by. */
  let triggerVerified = false;
  // The release's own rules (approval.ts validateDecision): a statement signed for this train ID and
  // exactly this gate (gate = the service it is after), its jti accepted once; unsigned refused in
  // production; approvers by name or (verified) group; four-eyes against the train's trigger.
  const check = (req: TrainDecisionRequest, kind: 'approve' | 'reject') => {
    const gate = st.gates.find((g) => g.after === req?.gate);
    if (!gate) throw new Error(`no gate after '${req?.gate}'; gates: ${st.gates.map((g) => g.after).join(', ') || 'none'}`);
    if (gate.state !== 'pending') throw new Error(`the gate after ${gate.after} is ${gate.state}, not pending`);
    const ctx: TrustContext = { trust, releaseId: st.trainId, now: Date.now(), used };
    const pending = { gate: gate.after, environment: '', approvers: gate.approvers, required: gate.required, fourEyes: gate.fourEyes === true, openedAt: gate.openedAt ?? '', timeoutAt: '', approvedBy: gate.approvedBy };
    const d = validateDecision(pending, { ...req, approver: req.approver ?? '', gate: gate.after }, { by: input.trigger.by, verified: triggerVerified }, kind, ctx);
    return { gate, d };
  };
  /** Update validators only (never run on replay): no decision before the gate has read its trust. */
  const validate = (req: TrainDecisionRequest, kind: 'approve' | 'reject') => {
    const gate = st.gates.find((g) => g.after === req?.gate);
    if (gate?.state === 'pending' && trust === undefined) throw new Error(`the gate after ${gate.after} is opening (reading its orchestrator's decision keys); try again`);
    check(req, kind);
  };
  const decide = (req: TrainDecisionRequest, kind: 'approve' | 'reject'): TrainDecisionReply => {
    const { gate, d } = check(req, kind);
    if (d.jti) used.set(d.jti, d.exp ?? 0);
    gate.decisions.push({
      decision: kind === 'approve' ? 'approved' : 'rejected',
      by: d.identity,
      comment: d.comment,
      at: new Date().toISOString(),
      authenticated: d.authenticated,
      ...(d.authenticated ? { via: d.via, groups: d.groups } : {}),
    });
    if (kind === 'reject') gate.state = 'rejected';
    else {
      gate.approvedBy.push(d.identity);
      if (gate.approvedBy.length >= gate.required) gate.state = 'approved';
    }
    changed();
    return { gate: gate.after, decision: kind === 'approve' ? 'approved' : 'rejected', approvals: gate.approvedBy.length, required: gate.required, closed: gate.state !== 'pending' };
  };
  setHandler(trainApproveUpdate, (req) => decide(req, 'approve'), { validator: (req) => validate(req, 'approve') });
  setHandler(trainRejectUpdate, (req) => decide(req, 'reject'), { validator: (req) => validate(req, 'reject') });

  upsertSearchAttributes([
    { key: SA.train, value: st.trainId },
    { key: SA.trigger, value: input.trigger.kind },
    { key: SA.outcome, value: 'running' },
  ]);

  function openGate(gate: TrainGateStatus): void {
    if (gate.required === 0) {
      gate.state = 'approved'; // a gate without approval opens when its service is released
      return;
    }
    gate.state = 'pending';
    gate.openedAt = new Date().toISOString();
    void (async () => {
      trust = await local.decisionTrust();
      if (gate.fourEyes) fourEyesTrigger(gate, trust);
      const decided = await condition(() => gate.state !== 'pending', parseDuration(gate.timeout));
      if (!decided) {
        gate.state = 'timed-out';
        changed();
      }
    })().catch(() => undefined); // cancelled with the train
  }

  /**
   * Four-eyes needs to know who triggered the train: a start statement signed for the train ID
   * vouches for input.trigger.by. In production without one, the gate needs two different approvers.
   */
  function fourEyesTrigger(gate: TrainGateStatus, t: DecisionTrust): void {
    triggerVerified = false;
    if (input.trigger.statement !== undefined) {
      try {
        const claims = verifyStatement(input.trigger.statement, t, { releaseId: st.trainId, actions: ['start'], now: info.startTime.getTime() });
        triggerVerified = claims.sub === input.trigger.by;
      } catch (err) {
        log.warn('start statement refused; the train trigger is unverified', { error: (err as Error).message });
      }
    }
    if (t.requireSigned && !triggerVerified) {
      gate.fourEyesUnverifiedTrigger = true;
      gate.required = Math.max(gate.required, 2);
    }
  }

  function fail(service: string, message: string, gate = false): void {
    if (!st.failure) st.failure = { service, message, ...(gate ? { gate } : {}) };
    changed();
  }

  function start(name: string): void {
    const s = svc(name);
    const spec = train.services.find((x) => x.name === name)!;
    s.state = 'running';
    s.startedAt = new Date().toISOString();
    const release: ReleaseInput = {
      spec: spec.spec,
      commit: s.commit,
      version: input.versions?.[name] ?? s.commit.slice(0, 12),
      ...(spec.environments?.length ? { environments: spec.environments } : {}),
      trigger: { ...input.trigger, statement: undefined, deliveryId: input.trigger.deliveryId ?? st.trainId },
      ...(input.taskQueues ? { taskQueues: input.taskQueues } : {}),
      train: { workflowId: st.trainId, runId: info.runId, service: name },
    };
    // Not cancelled with the train's scope: a cancelled train undoes its releases itself, in order.
    const started = CancellationScope.nonCancellable(() => startChild<ReleaseWorkflow>('releaseWorkflow', {
      workflowId: s.releaseId,
      args: [release],
      // Cancelling the train (Temporal UI) cancels its releases, and each compensates.
      parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
      typedSearchAttributes: [{ key: SA.train, value: st.trainId }],
    }));
    const ended = started.then(
      (handle) =>
        handle.result().then(
          () => settle(name, 'succeeded'),
          (err) => settle(name, outcomeOf(err), messageOf(err)),
        ),
      (err) => settle(name, 'failed', `release not started: ${(err as Error).message}`),
    );
    void started.then((handle) => children.set(name, { handle, ended }), () => undefined);
  }

  /** A release ended: by our verdict, or on its own (it failed, was rejected or aborted). */
  function settle(name: string, outcome: string, message?: string): void {
    const s = svc(name);
    const byVerdict = verdicts.has(name);
    s.outcome = outcome;
    s.message = message;
    s.endedAt = new Date().toISOString();
    s.state = outcome === 'succeeded' ? 'succeeded' : outcome === 'rolled-back' ? 'rolled-back' : 'failed';
    if (!byVerdict) fail(name, message ?? `${name} ended ${outcome}`);
    changed();
  }
  const verdicts = new Set<string>();

  // ---- run: start what is ready, until everything is released or something failed ----
  try {
    await run();
    return await finishTrain();
  } catch (err) {
    if (!isCancellation(err)) throw err;
    await CancellationScope.nonCancellable(() => cancelled());
    throw err;
  }

  async function run(): Promise<void> {
    for (;;) {
      if (!st.failure) {
        for (const g of st.gates) if (g.state === 'rejected' || g.state === 'timed-out') fail(g.after, `the gate after ${g.after} was ${g.state === 'rejected' ? `rejected by ${g.decisions.at(-1)?.by}` : `not approved within ${g.timeout}`}`, true);
      }
      const running = st.services.filter((s) => s.state === 'running').length;
      if (!st.failure) {
        let slots = train.maxParallel - running;
        for (const s of st.services) {
          if (slots <= 0) break;
          if (s.state !== 'pending') continue;
          const ready = s.dependsOn.every((d) => svc(d).state === 'released' && (gateAfter(d)?.state ?? 'approved') === 'approved');
          if (ready) {
            start(s.name);
            slots--;
          }
        }
      }
      const stillRunning = st.services.filter((s) => s.state === 'running').length;
      if (stillRunning === 0 && (st.failure || !st.services.some((s) => s.state === 'pending'))) break;
      const seen = changes;
      await condition(() => changes !== seen);
    }
  }

  /** Cancelled from Temporal: running releases are cancelled (each compensates), the released ones rolled back newest first. */
  async function cancelled(): Promise<void> {
    fail('-', 'train cancelled from Temporal');
    skipPending();
    const running = st.services.filter((s) => s.state === 'running').map((s) => s.name);
    await Promise.all(
      running.map(async (n) => {
        verdicts.add(n);
        await getExternalWorkflowHandle(svc(n).releaseId).cancel().catch(() => undefined);
        await (await waitFor(n)).ended;
      }),
    );
    for (const n of releasedOrder.filter((x) => svc(x).state === 'released').reverse()) await verdict(n, 'rollback', `train ${train.name} cancelled`);
    st.outcome = 'aborted';
    st.endedAt = new Date().toISOString();
    upsertSearchAttributes([{ key: SA.outcome, value: 'aborted' }]);
  }

  function skipPending(): void {
    for (const s of st.services) {
      if (s.state === 'pending') {
        s.state = 'skipped';
        s.message = `not started: ${st.failure?.service === '-' ? st.failure.message : `${st.failure?.service} failed`}`;
      }
    }
  }

  async function verdict(name: string, v: 'commit' | 'rollback', reason?: string): Promise<void> {
    const child = await waitFor(name);
    verdicts.add(name);
    await child.handle.signal(trainVerdictSignal, { verdict: v, reason });
    await child.ended;
  }

  // ---- the verdict ----
  async function finishTrain(): Promise<TrainStatus> {
    skipPending();
    for (const g of st.gates) if (g.state === 'pending') g.state = 'rejected';
    const released = releasedOrder.filter((n) => svc(n).state === 'released');
    if (!st.failure) {
      await Promise.all(released.map((n) => verdict(n, 'commit')));
    } else if (train.rollback === 'service') {
      await Promise.all(released.map((n) => verdict(n, 'commit')));
    } else {
      const reason = `train ${train.name} rolled back: ${st.failure.gate ? st.failure.message : `${st.failure.service} failed`}`;
      for (const n of [...released].reverse()) await verdict(n, 'rollback', reason);
    }
    st.endedAt = new Date().toISOString();
    if (!st.failure) st.outcome = st.services.every((s) => s.state === 'succeeded') ? 'succeeded' : 'failed';
    else if (st.failure.gate) st.outcome = 'rejected';
    else {
      // Rolled back: every other service was undone (or never started) and the failed one did not stay.
      const others = st.services.filter((s) => s.name !== st.failure!.service);
      const undone = train.rollback === 'train' && others.every((s) => s.state === 'rolled-back' || s.state === 'skipped');
      st.outcome = undone && svc(st.failure.service).state !== 'succeeded' ? 'rolled-back' : 'failed';
    }
    upsertSearchAttributes([{ key: SA.outcome, value: st.outcome }]);
    log.info('train ended', { outcome: st.outcome, failure: st.failure });
    if (st.outcome === 'succeeded') return st;
    throw ApplicationFailure.create({
      type: TRAIN_FAILURE_TYPES[st.outcome as keyof typeof TRAIN_FAILURE_TYPES] ?? 'TrainFailed',
      message: `train ${train.name} ${st.outcome}: ${st.failure ? (st.failure.gate ? st.failure.message : `${st.failure.service} failed: ${st.failure.message}`) : 'not every release succeeded'}; ${st.services.map((s) => `${s.name} ${s.state}`).join(', ')}`,
      nonRetryable: true,
      details: [st],
    });
  }

  async function waitFor(name: string): Promise<Child> {
    await condition(() => children.has(name));
    return children.get(name)!;
  }
}

const OUTCOME_BY_TYPE = Object.fromEntries(Object.entries(RELEASE_FAILURE_TYPES).map(([outcome, type]) => [type, outcome]));

function outcomeOf(err: unknown): string {
  const cause = err instanceof ChildWorkflowFailure ? err.cause : err;
  if (isCancellation(cause)) return 'aborted';
  if (cause instanceof ApplicationFailure && cause.type && OUTCOME_BY_TYPE[cause.type]) return OUTCOME_BY_TYPE[cause.type];
  return 'failed';
}

function messageOf(err: unknown): string {
  const cause = err instanceof ChildWorkflowFailure ? err.cause : err;
  return (cause as Error | undefined)?.message ?? String(err);
}
