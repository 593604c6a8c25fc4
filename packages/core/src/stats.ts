import type { Counter, Gauge } from 'prom-client';
import type { ErrorCode } from './errors.ts';
import type { LatencySummary, StatsSnapshot } from './events.ts';
import { Metrics } from './metrics.ts';

/** The stats JSON and its latency summaries: their schemas are in events.ts, with the wire contract. */
export type { LatencySummary, StatsSnapshot };

/** Percentiles over the most recent samples (a ring buffer, so memory stays bounded). */
export class LatencyHistogram {
  static readonly SAMPLE_LIMIT = 10_000;
  readonly #samples: number[] = [];
  #next = 0;
  #count = 0;
  #max = 0;

  record(ms: number): void {
    this.#count += 1;
    this.#max = Math.max(this.#max, ms);
    if (this.#samples.length < LatencyHistogram.SAMPLE_LIMIT) this.#samples.push(ms);
    else {
      this.#samples[this.#next] = ms;
      this.#next = (this.#next + 1) % LatencyHistogram.SAMPLE_LIMIT;
    }
  }

  summary(): LatencySummary {
    const sorted = [...this.#samples].sort((a, b) => a - b);
    const round = (n: number) => Math.round(n * 100) / 100;
    const mean = sorted.length ? sorted.reduce((a, b) => a + b, 0) / sorted.length : 0;
    return {
      count: this.#count,
      p50: round(percentile(sorted, 50)),
      p95: round(percentile(sorted, 95)),
      p99: round(percentile(sorted, 99)),
      mean: round(mean),
      max: round(this.#max),
    };
  }
}

/** Nearest-rank percentile of an ascending array; 0 for none. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export type TurnOutcome = 'completed' | 'cancelled' | 'failed';

/**
 * One more open stream or connection, in the counts and their instruments; the result, however
 * often it is called, counts it closed once.
 */
function opened(count: { active: number; total: number }, active: Gauge, total: Counter): () => void {
  count.active += 1;
  count.total += 1;
  active.inc();
  total.inc();
  let open = true;
  return () => {
    if (open) {
      count.active -= 1;
      active.dec();
    }
    open = false;
  };
}

/**
 * Counters and latency histograms for one server (this instance: with REDIS_URL only the session
 * count is cluster-wide). Every record goes to the /stats JSON and to the Prometheus `metrics`.
 * The same scope on all five: `bytes` are the payload of the API (session, history and chat
 * routes or RPCs), `connections` the long-lived connections that carry session events.
 */
export class Stats {
  readonly protocol: string;
  /** The same counts as Prometheus instruments, for GET /metrics. */
  readonly metrics: Metrics;
  readonly #startedAt = performance.now();
  readonly #ttft = new LatencyHistogram();
  readonly #total = new LatencyHistogram();
  readonly #streams = { active: 0, total: 0 };
  readonly #connections = { active: 0, total: 0 };
  readonly #turns = { completed: 0, cancelled: 0, failed: 0 };
  readonly #errors: Partial<Record<ErrorCode, number>> = {};
  #errorTotal = 0;
  #bytesSent = 0;
  #bytesReceived = 0;

  constructor(protocol: string) {
    this.protocol = protocol;
    this.metrics = new Metrics(protocol);
  }

  /** A response stream opened; call the returned function once when it ends. */
  streamOpened(): () => void {
    return opened(this.#streams, this.metrics.streamsActive, this.metrics.streams);
  }

  /**
   * A long-lived connection that carries session events opened (an SSE event stream, a WebSocket,
   * a gRPC Chat call); call the result when it closes. REST and NDJSON have none.
   */
  connectionOpened(): () => void {
    return opened(this.#connections, this.metrics.connectionsActive, this.metrics.connections);
  }

  recordTurn(outcome: TurnOutcome, timings?: { ttftMs: number; totalMs: number }): void {
    this.#turns[outcome] += 1;
    this.metrics.turns.inc({ outcome });
    if (timings && outcome === 'completed') {
      this.#ttft.record(timings.ttftMs);
      this.#total.record(timings.totalMs);
      this.metrics.ttft.observe(timings.ttftMs / 1000);
      this.metrics.turnDuration.observe(timings.totalMs / 1000);
    }
  }

  /** Tokens the model produced in a turn that ended (completed or cancelled). */
  recordOutputTokens(tokens: number): void {
    if (tokens > 0) this.metrics.outputTokens.inc(tokens);
  }

  recordError(code: ErrorCode): void {
    this.#errorTotal += 1;
    this.#errors[code] = (this.#errors[code] ?? 0) + 1;
    this.metrics.recordError(code);
  }

  addBytesSent(bytes: number): void {
    if (!(bytes > 0)) return;
    this.#bytesSent += bytes;
    this.metrics.bytesSent.inc(bytes);
  }

  addBytesReceived(bytes: number): void {
    if (!(bytes > 0)) return;
    this.#bytesReceived += bytes;
    this.metrics.bytesReceived.inc(bytes);
  }

  get activeStreams(): number {
    return this.#streams.active;
  }

  snapshot(activeSessions: number): StatsSnapshot {
    return {
      protocol: this.protocol,
      uptimeSeconds: Math.round((performance.now() - this.#startedAt) / 1000),
      sessions: { active: activeSessions },
      streams: { ...this.#streams },
      connections: { ...this.#connections },
      turns: { ...this.#turns },
      errors: { total: this.#errorTotal, byCode: { ...this.#errors } },
      bytes: { sent: this.#bytesSent, received: this.#bytesReceived },
      latencyMs: { ttft: this.#ttft.summary(), total: this.#total.summary() },
    };
  }
}
