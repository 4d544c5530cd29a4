// FROZEN: the closure-based saga of release-v1 (see release-v1.ts). Do not change it.
// The compensation stack. Each completed (or started) side effect pushes its undo; on failure, abort
// or rejection the undos run in reverse order inside a non-cancellable scope. A failing undo is
// recorded and the rest still run: a half rollback that says so beats a stuck one.
import { CancellationScope, log } from '@temporalio/workflow';
import type { CompensationRecord } from '../types.js';

interface Entry {
  record: CompensationRecord;
  undo: () => Promise<void>;
}

export class Saga {
  private readonly entries: Entry[] = [];
  private nextId = 1;

  constructor(private readonly onChange: () => void = () => undefined) {}

  /** Records the undo of a step. Push before the step when the step may half-happen. */
  push(description: string, environment: string | undefined, undo: () => Promise<void>): number {
    const id = this.nextId++;
    this.entries.push({ record: { id, description, environment, status: 'pending' }, undo });
    this.onChange();
    return id;
  }

  /** The step already undid itself (e.g. a fault removed on schedule): its undo is no longer needed. */
  resolve(id: number): void {
    const entry = this.entries.find((e) => e.record.id === id);
    if (entry && entry.record.status === 'pending') entry.record.status = 'done';
    this.onChange();
  }

  /** Marks an environment's undos as no longer needed (the environment was promoted). */
  commit(environment: string): void {
    for (const e of this.entries) {
      if (e.record.environment === environment && e.record.status === 'pending') e.record.status = 'committed';
    }
    this.onChange();
  }

  get records(): CompensationRecord[] {
    return this.entries.map((e) => e.record);
  }

  get pendingCount(): number {
    return this.entries.filter((e) => e.record.status === 'pending').length;
  }

  /** Runs every pending undo, newest first, non-cancellable. Returns true when all succeeded. */
  async compensate(): Promise<boolean> {
    return CancellationScope.nonCancellable(async () => {
      let allDone = true;
      for (const entry of [...this.entries].reverse()) {
        if (entry.record.status !== 'pending') continue;
        entry.record.status = 'running';
        this.onChange();
        try {
          await entry.undo();
          entry.record.status = 'done';
        } catch (err) {
          allDone = false;
          entry.record.status = 'failed';
          entry.record.error = errorMessage(err);
          log.error('compensation failed', { compensation: entry.record.description, error: entry.record.error });
        }
        this.onChange();
      }
      return allDone;
    });
  }
}

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
