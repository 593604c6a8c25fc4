/**
 * The benchmark's simulated model: English text at a pace chosen per request, so that one
 * server process serves every measurement. The user's message says what to produce:
 *
 *   "bench tokens=40 delay=50"   40 tokens, one every 50 ms (20 tokens/s)
 *   "bench tokens=2000 delay=0"  2,000 tokens as fast as the transport takes them
 *
 * Any other message gets DEFAULT_TOKENS at zero delay. Tokens follow an absolute schedule
 * (token i at start + i × delay), so timer drift does not accumulate into the jitter we measure.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Message, ModelInfo, ModelProvider, ModelStreamOptions, ModelStreamResult } from '@gtp/core';
import { tokenize } from '@gtp/core';

export const DEFAULT_TOKENS = 40;
export const MAX_TOKENS = 100_000;

const TEXT = tokenize(
  'Streaming lets the first words reach you long before the last ones are written. ' +
    'A unary call is simple to cache and retry, but the reader waits for the whole answer. ' +
    'Server-Sent Events ride on plain HTTP, so proxies and browsers already understand them. ' +
    'WebSockets keep one connection open in both directions, which suits shared live sessions. ' +
    'gRPC brings a typed contract and multiplexed HTTP/2 streams, at the cost of browser support. ',
);

export interface BenchRequest {
  tokens: number;
  delayMs: number;
}

/** `bench tokens=N delay=MS` → what to produce; defaults for anything else. */
export function parseBenchRequest(text: string): BenchRequest {
  const tokens = Number(/tokens=(\d+)/.exec(text)?.[1] ?? DEFAULT_TOKENS);
  const delayMs = Number(/delay=(\d+)/.exec(text)?.[1] ?? 0);
  return { tokens: Math.min(Math.max(tokens, 1), MAX_TOKENS), delayMs: Math.min(delayMs, 10_000) };
}

export function benchMessage(request: BenchRequest): string {
  return `bench tokens=${request.tokens} delay=${request.delayMs}`;
}

/** The text of token i: the same for every protocol, so bytes on the wire compare. */
export const benchToken = (i: number) => TEXT[i % TEXT.length]!;

/** Token generator shared by the model and the bare-Node floors. */
export async function* benchTokens(request: BenchRequest, signal?: AbortSignal): AsyncGenerator<string> {
  const startedAt = performance.now();
  for (let i = 0; i < request.tokens; i++) {
    signal?.throwIfAborted();
    if (request.delayMs > 0 && i > 0) {
      const wait = startedAt + i * request.delayMs - performance.now();
      if (wait > 0) await sleep(wait, undefined, { signal });
    }
    yield benchToken(i);
  }
}

export class BenchModel implements ModelProvider {
  readonly info: ModelInfo = { provider: 'simulated', id: 'bench-1' };

  async *stream(
    history: readonly Message[],
    options: ModelStreamOptions = {},
  ): AsyncGenerator<string, ModelStreamResult> {
    const request = parseBenchRequest(history.at(-1)?.text ?? '');
    yield* benchTokens(request, options.signal);
    return { finishReason: 'stop', usage: { inputTokens: 2, outputTokens: request.tokens } };
  }
}
