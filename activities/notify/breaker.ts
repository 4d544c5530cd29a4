// A circuit breaker per notification endpoint: an endpoint that keeps failing (80% of calls in a
// minute, after 5 calls) is paused for 5 minutes, then tried again. Paused sends fail at once
// (NotifierPaused, recorded in the release status) instead of spending the release's time. The
// breaker state is a worker metric: shipyard_notifier_breaker_open{channel}.
import CircuitBreaker from 'opossum';
import { ApplicationFailure } from '@temporalio/common';
import { Runtime } from '@temporalio/worker';
import type { MetricGauge } from '@temporalio/common';

export interface BreakerSettings {
  errorThresholdPercentage: number;
  rollingCountTimeoutMs: number;
  resetTimeoutMs: number;
  volumeThreshold: number;
}

export const DEFAULT_BREAKER: BreakerSettings = { errorThresholdPercentage: 80, rollingCountTimeoutMs: 60_000, resetTimeoutMs: 300_000, volumeThreshold: 5 };

export class EndpointBreakers {
  private readonly breakers = new Map<string, CircuitBreaker<[() => Promise<void>], void>>();
  private gauge: MetricGauge | undefined;

  constructor(private readonly settings: BreakerSettings = DEFAULT_BREAKER) {}

  private metric(): MetricGauge | undefined {
    try {
      this.gauge ??= Runtime.instance().metricMeter.createGauge('shipyard_notifier_breaker_open', 'int', '', '1 while notifications to the channel are paused');
    } catch {
      // no runtime (unit use): no metric
    }
    return this.gauge;
  }

  private breaker(channel: string) {
    let b = this.breakers.get(channel);
    if (!b) {
      b = new CircuitBreaker((fn: () => Promise<void>) => fn(), {
        timeout: false,
        errorThresholdPercentage: this.settings.errorThresholdPercentage,
        rollingCountTimeout: this.settings.rollingCountTimeoutMs,
        resetTimeout: this.settings.resetTimeoutMs,
        volumeThreshold: this.settings.volumeThreshold,
      });
      const set = (open: number) => this.metric()?.set(open, { channel });
      b.on('open', () => set(1));
      b.on('halfOpen', () => set(0));
      b.on('close', () => set(0));
      set(0);
      this.breakers.set(channel, b);
    }
    return b;
  }

  state(channel: string): 'closed' | 'open' | 'half-open' {
    const b = this.breakers.get(channel);
    return !b ? 'closed' : b.opened ? 'open' : b.halfOpen ? 'half-open' : 'closed';
  }

  async run(channel: string, send: () => Promise<void>): Promise<void> {
    const b = this.breaker(channel);
    try {
      await b.fire(send);
    } catch (err) {
      if ((err as { code?: string }).code === 'EOPENBREAKER') {
        throw ApplicationFailure.nonRetryable(`notifications to ${channel} are paused after repeated failures; retried in ${Math.round(this.settings.resetTimeoutMs / 1000)}s`, 'NotifierPaused');
      }
      throw err;
    }
  }
}
