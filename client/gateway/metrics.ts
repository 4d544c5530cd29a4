// The gateway's Prometheus metrics (GET /metrics).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class GatewayMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'shipyard_gateway_requests_total',
    help: 'Requests by route and outcome (started, existing, ignored, approved, rejected, refused, unauthorized, bad_request, unavailable, ...)',
    labelNames: ['route', 'outcome'],
    registers: [this.registry],
  });
  readonly signatureFailures = new Counter({
    name: 'shipyard_gateway_signature_failures_total',
    help: 'Requests refused by signature, token or timestamp checks, by provider',
    labelNames: ['provider'],
    registers: [this.registry],
  });
  readonly startLatency = new Histogram({
    name: 'shipyard_gateway_start_latency_seconds',
    help: 'Time from a verified webhook to the release workflow started (or found)',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly breakerOpen = new Gauge({
    name: 'shipyard_gateway_temporal_breaker_open',
    help: '1 while the circuit breaker toward Temporal is open',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'shipyard_gateway_' });
  }
}
