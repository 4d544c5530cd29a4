// Back-pressure toward Temporal. Calls go through a circuit breaker: when the frontend is down the
// breaker opens and the gateway answers 503 + Retry-After at once (GitHub/GitLab redeliver), instead
// of hammering a dead frontend and holding webhook connections open. Caller mistakes (unknown
// release, refused approval) do not count as failures.
import CircuitBreaker from 'opossum';
import { ShipyardUsageError } from '../errors.js';

export class TemporalUnavailable extends Error {
  override name = 'TemporalUnavailable';
}

const UNAVAILABLE = /UNAVAILABLE|DEADLINE_EXCEEDED|ECONNREFUSED|ECONNRESET|EHOSTUNREACH|Failed to connect|tcp connect error|Connection refused|transport error|deadline|Breaker is open|Timed out/i;

/** True for errors that mean "Temporal is not reachable right now", not "the request was wrong". */
export function isUnavailable(err: unknown): boolean {
  if (err instanceof ShipyardUsageError) return false;
  let current = err as { code?: unknown; message?: string; cause?: unknown } | undefined;
  for (let depth = 0; current && depth < 5; depth++) {
    if (current.code === 14 || current.code === 4 || current.code === 'EOPENBREAKER' || current.code === 'ETIMEDOUT') return true;
    if (current.message && UNAVAILABLE.test(current.message)) return true;
    current = current.cause as typeof current;
  }
  return false;
}

export interface GuardOptions {
  /** Per-call time limit (ms). */
  timeoutMs?: number;
  /** How long the breaker stays open before a trial call (ms). */
  resetMs?: number;
  /** Calls in the rolling window before the error rate can open it. */
  volumeThreshold?: number;
  /** Runs fn with a gRPC deadline (Client.withDeadline), so a call toward a dead frontend ends instead of lingering. */
  withDeadline?: <T>(deadline: number, fn: () => Promise<T>) => Promise<T>;
}

export class TemporalGuard {
  private readonly breaker: CircuitBreaker<[() => Promise<unknown>], unknown>;

  constructor(opts: GuardOptions = {}) {
    const timeout = opts.timeoutMs ?? 10_000;
    const withDeadline = opts.withDeadline;
    const action = withDeadline ? (fn: () => Promise<unknown>) => withDeadline(Date.now() + timeout, fn) : (fn: () => Promise<unknown>) => fn();
    this.breaker = new CircuitBreaker(action, {
      timeout: timeout + 1000, // the gRPC deadline fires first; this is the backstop
      resetTimeout: opts.resetMs ?? 10_000,
      errorThresholdPercentage: 50,
      volumeThreshold: opts.volumeThreshold ?? 3,
      rollingCountTimeout: 30_000,
      // Only unavailability counts against Temporal.
      errorFilter: (err: unknown) => !isUnavailable(err),
    });
  }

  get state(): 'closed' | 'open' | 'half-open' {
    return this.breaker.opened ? 'open' : this.breaker.halfOpen ? 'half-open' : 'closed';
  }

  async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return (await this.breaker.fire(fn)) as T;
    } catch (err) {
      if (isUnavailable(err)) throw new TemporalUnavailable(`Temporal is unreachable (${(err as Error).message})`);
      throw err;
    }
  }

  shutdown(): void {
    this.breaker.shutdown();
  }
}
