// MOCKED activities for crash tests, run in a separate worker process that the test SIGKILLs.
// Every attempt is appended to a ledger file; side effects are check-then-act on an idempotency
// key, the way real adapters make themselves safe to retry. The ledger outlives the process.
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { Context } from '@temporalio/activity';
import { FakeWorld } from './fake-activities.js';

const READS = new Set(['helmCurrentRevision', 'getTrafficWeights', 'measureMetric', 'checkHealth', 'notify', 'updateJira', 'readImages', 'httpProbe']);

export interface LedgerLine {
  kind: 'attempt' | 'effect';
  name: string;
  key: string;
  /** Temporal's attempt number, when the wall-clock ms it began, and the worker process (for crash drills). */
  attempt?: number;
  at?: number;
  pid?: number;
}

export function readLedger(file: string): LedgerLine[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [kind, name, key, attempt, at, pid] = line.split('\t');
      const num = (v: string | undefined) => (v ? Number(v) : undefined);
      return { kind: kind as LedgerLine['kind'], name, key, attempt: num(attempt), at: num(at), pid: num(pid) };
    });
}

/** Wraps every activity: record the attempt; for side effects, record the effect once per key; optionally be slow. */
export function ledgerActivities(file: string, slow: Record<string, number> = {}) {
  const world = new FakeWorld();
  const wrap = <T extends object>(acts: T): T =>
    Object.fromEntries(
      Object.entries(acts).map(([name, fn]) => [
        name,
        async (input: Record<string, unknown>) => {
          const detail = input.idempotencyKey ?? input.weight ?? input.target ?? input.toRevision ?? '';
          const info = Context.current().info;
          // A read has no idempotency key: each call is its own (a release reads its traffic weights
          // at the canary's start and again after promoting), so its key names the call; retries keep it.
          const call = READS.has(name) ? `|call ${info.activityId}` : '';
          const key = `${input.releaseId}|${input.environment ?? '-'}|${name}|${detail}${call}`;
          const when = `${info.attempt}\t${Date.now()}\t${process.pid}`;
          appendFileSync(file, `attempt\t${name}\t${key}\t${when}\n`);
          if (!READS.has(name) && !readLedger(file).some((l) => l.kind === 'effect' && l.key === key)) {
            appendFileSync(file, `effect\t${name}\t${key}\t${when}\n`);
          }
          const ms = slow[name];
          if (ms) {
            const ctx = Context.current();
            const until = Date.now() + ms;
            while (Date.now() < until) {
              ctx.heartbeat();
              await new Promise((r) => setTimeout(r, 200));
            }
          }
          return (fn as (i: unknown) => Promise<unknown>)(input);
        },
      ]),
    ) as T;
  return { build: wrap(world.build()), deploy: wrap(world.deploy()) };
}
