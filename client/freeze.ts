// The line freeze from the client side. The freeze workflow is the one source of truth: `freeze`
// signals it (signal-with-start) and returns once a query reads the change back, so any release
// started afterwards is held; it pushes the change to every running release that subscribed.
// Releases started by older workers never subscribed: they are signalled directly.
import { WorkflowNotFoundError, type Client, type WorkflowHandle } from '@temporalio/client';
import { freezeBookQuery } from '../workflows/freeze.js';
import { freezeSignal, freezeWorkflowId, TASK_QUEUES, unfreezeSignal } from '../workflows/messages.js';
import type { FreezeState } from '../workflows/types.js';
import type { ListFilter, ReleaseSummary } from './list.js';

type FreezeBookView = { line: FreezeState | null; services: Record<string, FreezeState>; subscribers: { releaseId: string; service: string }[]; pending?: number };

/** What LineFreeze needs of the client. */
interface FreezeHost {
  client: Client;
  taskQueues: { orchestrator?: string };
  list(filter: ListFilter): Promise<ReleaseSummary[]>;
}

export class LineFreeze {
  private cache: { at: number; state: FreezeState | null } | undefined;

  constructor(private readonly host: FreezeHost) {}

  private get id(): string {
    return freezeWorkflowId(this.host.taskQueues.orchestrator);
  }

  /** The line-wide freeze, if any (read from the freeze workflow's memo: no worker needed), cached for a second. */
  async current(): Promise<FreezeState | null> {
    if (this.cache && Date.now() - this.cache.at < 1000) return this.cache.state;
    let state: FreezeState | null = null;
    try {
      const d = await this.host.client.workflow.getHandle(this.id).describe();
      if (d.status.name === 'RUNNING') state = ((d.memo as { freeze?: FreezeState } | undefined)?.freeze ?? null) as FreezeState | null;
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
    this.cache = { at: Date.now(), state };
    return state;
  }

  /** Stops the line (or one service); returns the running releases it applies to. */
  async freeze(by: string, reason?: string, service?: string): Promise<string[]> {
    this.cache = undefined;
    await this.host.client.workflow.signalWithStart('freezeWorkflow', {
      workflowId: this.id,
      taskQueue: this.host.taskQueues.orchestrator ?? TASK_QUEUES.orchestrator,
      args: [null],
      signal: freezeSignal,
      signalArgs: [{ by, reason, service }],
    });
    const book = await this.until((b) => {
      const f = service ? b.services[service] : b.line;
      return f?.by === by && f?.reason === reason;
    });
    const legacy = await this.signalLegacy(service, (h) => h.signal(freezeSignal, { by, reason }));
    return [...subscribersOf(book, service), ...legacy];
  }

  /** Lifts the freeze; returns the running releases it applied to (they go on). */
  async unfreeze(by: string, service?: string): Promise<string[]> {
    this.cache = undefined;
    const before = await this.book();
    if (before) {
      await this.host.client.workflow.getHandle(this.id).signal(unfreezeSignal, { by, service });
      await this.until((b) => (service ? !b.services[service] : b.line === null));
    }
    const legacy = await this.signalLegacy(service, (h) => h.signal(unfreezeSignal, { by }));
    return [...(before ? subscribersOf(before, service) : []), ...legacy];
  }

  /** The freeze workflow's state and subscribers (null when there is none). */
  async book(): Promise<FreezeBookView | null> {
    try {
      return await this.host.client.workflow.getHandle(this.id).query(freezeBookQuery);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return null;
      throw err;
    }
  }

  /**
   * Waits (up to 10 s) until the freeze workflow has recorded the change and pushed it to every
   * subscribed release (a query: strongly consistent). After that, no running release can pass a
   * deploy gate without it.
   */
  private async until(done: (b: FreezeBookView) => boolean): Promise<FreezeBookView> {
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const book = await this.book();
      if (book && done(book) && !book.pending) {
        this.cache = { at: Date.now(), state: book.line };
        return book;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('the freeze workflow did not record the change within 10 s (is an orchestrator worker running?)');
  }

  /** Running releases started before freeze subscriptions existed (no `subscribed` in their memo). */
  private async signalLegacy(service: string | undefined, send: (h: WorkflowHandle) => Promise<void>): Promise<string[]> {
    const running = await this.host.list({ service, running: true, taskQueue: this.host.taskQueues.orchestrator ?? TASK_QUEUES.orchestrator, limit: 1000 });
    const legacy = running.filter((r) => !r.subscribed);
    await Promise.all(legacy.map((r) => send(this.host.client.workflow.getHandle(r.releaseId)).catch(() => undefined)));
    return legacy.map((r) => r.releaseId);
  }
}

/** The running releases a line (or service) freeze applies to. */
function subscribersOf(book: FreezeBookView, service?: string): string[] {
  return book.subscribers.filter((s) => !service || s.service === service).map((s) => s.releaseId);
}
