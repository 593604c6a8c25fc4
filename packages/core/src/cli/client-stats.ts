import { LatencyHistogram } from '../stats.ts';

/** What the shell measures on its side of the wire, for `/stats`. */
export class ClientStats {
  readonly ttft = new LatencyHistogram();
  readonly total = new LatencyHistogram();
  turns = 0;
  cancelled = 0;
  failed = 0;
  chunks = 0;
  tokens = 0;
  streamingMs = 0;

  /** `ttftMs` is undefined when no first token arrived (cancelled before it, failed): not counted. */
  recordTurn(turn: {
    ttftMs: number | undefined;
    totalMs: number;
    chunks: number;
    tokens: number;
    outcome: 'done' | 'cancelled' | 'error';
  }): void {
    this.turns += 1;
    if (turn.outcome === 'cancelled') this.cancelled += 1;
    if (turn.outcome === 'error') {
      this.failed += 1;
      return;
    }
    if (turn.ttftMs !== undefined) this.ttft.record(turn.ttftMs);
    this.total.record(turn.totalMs);
    this.chunks += turn.chunks;
    this.tokens += turn.tokens;
    this.streamingMs += turn.totalMs;
  }

  /** Output tokens per second over the time spent waiting for replies. */
  get tokensPerSecond(): number {
    return this.streamingMs > 0 ? (this.tokens * 1000) / this.streamingMs : 0;
  }
}
