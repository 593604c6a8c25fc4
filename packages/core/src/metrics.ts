import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { ErrorCode } from './errors.ts';

/** Seconds: where a first token usually lands, from a local simulated model to a slow Gemini. */
export const TTFT_BUCKETS_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Seconds: a whole reply, up to the minutes a long answer can take. */
export const TURN_BUCKETS_SECONDS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

/** What the dependency gauge asks at scrape time: whether the store and the broker answer. */
export interface DependencyProbe {
  kinds: { store: string; broker: string };
  ping(): Promise<{ store: boolean; broker: boolean }>;
  /** Sessions in the store (shared by every instance with REDIS_URL). */
  sessions(): Promise<number>;
}

/**
 * The Prometheus instruments of one server, in a registry of its own (several servers can run in
 * one process, as in the tests). The same names and labels on all five; `protocol` is a label on
 * every series, so one dashboard shows them side by side and several instances aggregate.
 * Histograms, not percentiles: buckets add up across instances, a p99 does not.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly turns: Counter<'outcome'>;
  readonly ttft: Histogram;
  readonly turnDuration: Histogram;
  readonly outputTokens: Counter;
  readonly streamsActive: Gauge;
  readonly streams: Counter;
  readonly connectionsActive: Gauge;
  readonly connections: Counter;
  readonly bytesReceived: Counter;
  readonly bytesSent: Counter;
  readonly errors: Counter<'code'>;
  readonly rateLimited: Counter;
  #probe: DependencyProbe | undefined;
  #defaultMetrics = false;

  constructor(protocol: string) {
    const registers = [this.registry];
    this.registry.setDefaultLabels({ protocol });
    this.turns = new Counter({
      name: 'gtp_turns_total',
      help: 'Turns (replies) that ended, by outcome: completed, cancelled or failed',
      labelNames: ['outcome'],
      registers,
    });
    this.ttft = new Histogram({
      name: 'gtp_ttft_seconds',
      help: 'Time from the user message to the first token of the reply (completed turns)',
      buckets: TTFT_BUCKETS_SECONDS,
      registers,
    });
    this.turnDuration = new Histogram({
      name: 'gtp_turn_duration_seconds',
      help: 'Time from the user message to the end of the reply (completed turns)',
      buckets: TURN_BUCKETS_SECONDS,
      registers,
    });
    this.outputTokens = new Counter({
      name: 'gtp_output_tokens_total',
      help: 'Tokens the model produced (as it reported them; chunks when it reports none), completed and cancelled turns',
      registers,
    });
    this.streamsActive = new Gauge({
      name: 'gtp_streams_active',
      help: 'Replies streaming from this instance right now',
      registers,
    });
    this.streams = new Counter({
      name: 'gtp_streams_total',
      help: 'Replies started on this instance',
      registers,
    });
    this.connectionsActive = new Gauge({
      name: 'gtp_connections_active',
      help: 'Long-lived connections that carry session events, open right now: SSE event streams, WebSockets, gRPC Chat calls (none on REST and NDJSON)',
      registers,
    });
    this.connections = new Counter({
      name: 'gtp_connections_total',
      help: 'Long-lived connections opened (SSE event streams, WebSockets, gRPC Chat calls)',
      registers,
    });
    this.bytesReceived = new Counter({
      name: 'gtp_received_bytes_total',
      help: 'Payload bytes received by the API (session, history and chat routes or RPCs; not health, stats, metrics, docs or pages)',
      registers,
    });
    this.bytesSent = new Counter({
      name: 'gtp_sent_bytes_total',
      help: 'Payload bytes sent by the API (session, history and chat routes or RPCs; not health, stats, metrics, docs or pages)',
      registers,
    });
    this.errors = new Counter({
      name: 'gtp_errors_total',
      help: 'Errors answered or sent as events, by error code',
      labelNames: ['code'],
      registers,
    });
    this.rateLimited = new Counter({
      name: 'gtp_rate_limited_total',
      help: 'Requests, frames or replies refused with rate_limited (RATE_LIMIT_MAX, MAX_CONCURRENT_STREAMS, model quota)',
      registers,
    });
    const metrics = this;
    new Gauge({
      name: 'gtp_dependency_up',
      help: 'Whether a dependency answers (1) or not (0): the session store and the broker; kind is memory or redis',
      labelNames: ['dependency', 'kind'],
      registers,
      async collect() {
        const probe = metrics.#probe;
        if (!probe) return;
        const up = await probe.ping().catch(() => ({ store: false, broker: false }));
        this.set({ dependency: 'store', kind: probe.kinds.store }, up.store ? 1 : 0);
        this.set({ dependency: 'broker', kind: probe.kinds.broker }, up.broker ? 1 : 0);
      },
    });
    new Gauge({
      name: 'gtp_sessions',
      help: 'Sessions in the store: cluster-wide with REDIS_URL (every instance reports the same), this instance without',
      registers,
      async collect() {
        const probe = metrics.#probe;
        if (probe) this.set(await probe.sessions().catch(() => 0));
      },
    });
  }

  recordError(code: ErrorCode): void {
    this.errors.inc({ code });
    if (code === 'rate_limited') this.rateLimited.inc();
  }

  /**
   * The Prometheus text exposition. `probe` answers the dependency and session gauges; the
   * process metrics (CPU, memory, event loop) are added on the first scrape.
   */
  async scrape(probe?: DependencyProbe): Promise<string> {
    if (probe) this.#probe = probe;
    if (!this.#defaultMetrics) {
      this.#defaultMetrics = true;
      collectDefaultMetrics({ register: this.registry });
    }
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
