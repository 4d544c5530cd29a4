// The compensation stack, as data. Each completed (or started) side effect pushes its undo: the
// name of a compensation activity, its input and a description. Being data, the stack is part of
// the release's serialisable state and shows in `status`. On failure, abort or rejection the undos
// run in reverse order inside a non-cancellable scope; each records what it read back (undone,
// unchanged, skipped: target gone). A failing undo is recorded and the rest still run: a half
// rollback that says so beats a stuck one.
import { CancellationScope, log } from '@temporalio/workflow';
import type { DeployActivities, UndoResult } from '../activities/types.js';
import type { CompensationRecord } from './types.js';

/** The deploy activities an undo step may name. */
export type UndoActivity = 'helmRollback' | 'gitopsRevert' | 'restoreTraffic' | 'restoreImages' | 'restoreReplicas' | 'clearFault' | 'removeCanaryPlumbing';

export interface UndoStep {
  activity: UndoActivity;
  input: unknown;
  /** The operation's own timeout (helm, rollout), from which the activity budget is computed. */
  timeout?: string;
  /** Which activity budget: helm operations settle first and get a larger one. */
  budget?: 'helm' | 'change';
}

interface Entry {
  record: CompensationRecord;
  step: UndoStep;
}

/** Runs one undo step: the release passes its compensation proxies. */
export type UndoRunner = (step: UndoStep) => Promise<unknown>;

export class Saga {
  private readonly entries: Entry[] = [];
  private nextId = 1;

  constructor(private readonly onChange: (records: CompensationRecord[]) => void = () => undefined) {}

  /** Records the undo of a step. Push before the step when the step may half-happen. */
  push(description: string, environment: string | undefined, step: UndoStep): number {
    const id = this.nextId++;
    this.entries.push({ record: { id, description, environment, status: 'pending' }, step });
    this.changed();
    return id;
  }

  /** Updates a pending undo's input (e.g. a deploy that was cancelled mid-operation). */
  amend(id: number, patch: Partial<UndoStep>): void {
    const entry = this.entries.find((e) => e.record.id === id);
    if (entry && entry.record.status === 'pending') entry.step = { ...entry.step, ...patch };
  }

  /** The step already undid itself (e.g. a fault removed on schedule): its undo is no longer needed. */
  resolve(id: number): void {
    const entry = this.entries.find((e) => e.record.id === id);
    if (entry && entry.record.status === 'pending') entry.record.status = 'resolved';
    this.changed();
  }

  /** Marks an environment's undos as no longer needed (the environment was promoted). */
  commit(environment: string): void {
    for (const e of this.entries) {
      if (e.record.environment === environment && e.record.status === 'pending') e.record.status = 'committed';
    }
    this.changed();
  }

  get records(): CompensationRecord[] {
    return this.entries.map((e) => e.record);
  }

  get pendingCount(): number {
    return this.entries.filter((e) => e.record.status === 'pending').length;
  }

  /**
   * Runs every pending undo, newest first, non-cancellable. `onResult` sees what each one read back
   * (the release updates its status from it). Returns true when none failed.
   */
  async compensate(run: UndoRunner, onResult: (step: UndoStep, result: UndoResult) => void = () => undefined): Promise<boolean> {
    return CancellationScope.nonCancellable(async () => {
      let allDone = true;
      for (const entry of [...this.entries].reverse()) {
        if (entry.record.status !== 'pending') continue;
        entry.record.status = 'running';
        this.changed();
        try {
          const result = undoResult(await run(entry.step));
          entry.record.status = result.result === 'undone' ? 'done' : result.result;
          entry.record.detail = result.detail;
          onResult(entry.step, result);
        } catch (err) {
          allDone = false;
          entry.record.status = 'failed';
          entry.record.error = errorMessage(err);
          log.error('compensation failed', { compensation: entry.record.description, error: entry.record.error });
        }
        this.changed();
      }
      return allDone;
    });
  }

  private changed(): void {
    this.onChange(this.records);
  }
}

/** What an undo activity returned, as an UndoResult (older adapters returned nothing or weights). */
export function undoResult(value: unknown): UndoResult {
  if (value && typeof value === 'object' && 'result' in value) return value as UndoResult;
  if (value && typeof value === 'object' && 'stable' in value) {
    const w = value as { stable: number; canary: number };
    return { result: 'undone', detail: `traffic stable ${w.stable} / canary ${w.canary}`, weights: w };
  }
  return { result: 'undone', detail: 'done' };
}

/** Compensation activities are deploy activities; this keeps the names honest at compile time. */
export type CompensationActivities = Pick<DeployActivities, UndoActivity>;

/** The most useful message of a (possibly wrapped) Temporal failure. */
export function errorMessage(err: unknown): string {
  let current = err as { message?: string; cause?: unknown } | undefined;
  let message = current?.message ?? String(err);
  // ActivityFailure wraps the real error as its cause; prefer the innermost message.
  while (current && current.cause) {
    current = current.cause as { message?: string; cause?: unknown };
    if (current?.message) message = current.message;
  }
  return message;
}

/** The innermost failure type (ApplicationFailure.type) of a wrapped failure. */
export function failureType(err: unknown): string {
  let current = err as { type?: string; cause?: unknown; name?: string } | undefined;
  let type = current?.name ?? 'Error';
  while (current) {
    if (current.type) type = current.type;
    current = current.cause as typeof current;
  }
  return type;
}
