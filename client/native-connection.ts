// The gateway's Temporal connection. The SDK's native (Rust core) client spends markedly less CPU per
// StartWorkflowExecution than the grpc-js Connection (bench/gateway.ts prints both), and a gateway's
// verified webhooks/s on a small machine is bounded by CPU. NativeConnection connects eagerly and a
// failed connect is final, while the gateway must start and answer 503 while Temporal is down: this
// wrapper connects on first use, and again on the next call after a failed connect.
import type { ConnectionLike, Metadata, OperatorService, WorkflowService } from '@temporalio/client';
import type { TemporalSettings } from '../config/temporal.js';

type Native = ConnectionLike;

/** A service whose every method waits for the connection, then calls the native service's method. */
function serviceOf<S extends object>(connect: () => Promise<Native>, pick: (n: Native) => S): S {
  return new Proxy({} as S, {
    get(_target, prop) {
      // Not a thenable, not a symbol-keyed protocol: only RPC method names are forwarded.
      if (typeof prop !== 'string' || prop === 'then') return undefined;
      return async (req: unknown) => {
        const service = pick(await connect()) as Record<string, (r: unknown) => Promise<unknown>>;
        return service[prop](req);
      };
    },
  });
}

export class LazyNativeConnection implements ConnectionLike {
  readonly plugins = [];
  readonly workflowService: WorkflowService;
  readonly operatorService: OperatorService;
  private connecting?: Promise<Native>;
  private closed = false;

  constructor(private readonly settings: Pick<TemporalSettings, 'address' | 'tls' | 'apiKey'>) {
    this.workflowService = serviceOf(() => this.connection(), (n) => n.workflowService);
    this.operatorService = serviceOf(() => this.connection(), (n) => n.operatorService);
  }

  private connection(): Promise<Native> {
    if (this.closed) return Promise.reject(new Error('connection closed'));
    this.connecting ??= (async () => {
      // Loaded on first use: a CLI that never starts the gateway does not load the native module.
      const { NativeConnection } = await import('@temporalio/worker/lib/connection.js');
      return NativeConnection.connect({ address: this.settings.address, tls: this.settings.tls, apiKey: this.settings.apiKey });
    })().catch((err: unknown) => {
      this.connecting = undefined;
      throw err;
    });
    return this.connecting;
  }

  async ensureConnected(): Promise<void> {
    await (await this.connection()).ensureConnected();
  }

  async withDeadline<R>(deadline: number | Date, fn: () => Promise<R>): Promise<R> {
    return (await this.connection()).withDeadline(deadline, fn);
  }

  async withMetadata<R>(metadata: Metadata, fn: () => Promise<R>): Promise<R> {
    return (await this.connection()).withMetadata(metadata, fn);
  }

  async withAbortSignal<R>(signal: AbortSignal, fn: () => Promise<R>): Promise<R> {
    return (await this.connection()).withAbortSignal(signal, fn);
  }

  async close(): Promise<void> {
    this.closed = true;
    const pending = this.connecting;
    this.connecting = undefined;
    if (pending) await (await pending.catch(() => undefined))?.close();
  }
}
