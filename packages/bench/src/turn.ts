/** One measured chat turn through a protocol's own ClientAdapter. */
import { ChatError, percentile } from '@gtp/core';
import type { ClientAdapter } from '@gtp/core/cli';

export interface TurnMeasurement {
  /** send() called → first non-empty delta, ms. */
  ttftMs: number;
  /** send() called → done, ms. */
  totalMs: number;
  /** Delta events received. */
  chunks: number;
  /** Arrival time of each delta, ms since send() was called. */
  deltaAtMs: number[];
  /** The reply text, concatenated. */
  text: string;
  /** What the server reported: its own time to first token and total. */
  serverTimings?: { ttftMs: number; totalMs: number };
}

/** Anything that sends a turn: a ClientAdapter, or a floor's bare client. */
export type Sender = Pick<ClientAdapter, 'send'>;

export async function measureTurn(
  adapter: Sender,
  sessionId: string,
  text: string,
  signal?: AbortSignal,
): Promise<TurnMeasurement> {
  const startedAt = performance.now();
  let ttftMs: number | undefined;
  const deltaAtMs: number[] = [];
  let reply = '';
  let serverTimings: TurnMeasurement['serverTimings'];
  let finished = false;
  for await (const event of adapter.send(sessionId, text, { signal })) {
    const at = performance.now() - startedAt;
    if (event.type === 'delta') {
      deltaAtMs.push(at);
      if (ttftMs === undefined && event.text.length > 0) ttftMs = at;
      reply += event.text;
    } else if (event.type === 'error') {
      throw ChatError.fromBody(event.error);
    } else if (event.type === 'done') {
      serverTimings = event.timings;
      if (event.finishReason === 'cancelled') throw new ChatError('internal', 'the reply was cancelled');
      finished = true;
      break;
    }
  }
  if (!finished) throw new ChatError('internal', 'the stream ended without a done event');
  const totalMs = performance.now() - startedAt;
  return {
    ttftMs: ttftMs ?? totalMs,
    totalMs,
    chunks: deltaAtMs.length,
    deltaAtMs,
    text: reply,
    serverTimings,
  };
}

/** Gaps between consecutive deltas, ms. */
export function gaps(deltaAtMs: readonly number[]): number[] {
  const out: number[] = [];
  for (let i = 1; i < deltaAtMs.length; i++) out.push(deltaAtMs[i]! - deltaAtMs[i - 1]!);
  return out;
}

/** p50/p99 (nearest rank) of some samples, rounded to 0.01 ms; null for none. */
export function p50p99(samples: readonly number[]): { p50: number; p99: number } | null {
  if (samples.length === 0) return null;
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50: round2(percentile(sorted, 50)), p99: round2(percentile(sorted, 99)) };
}

export const round2 = (n: number) => Math.round(n * 100) / 100;
