/**
 * A model for the slow-consumer faults: a message starting with "flood" is answered with
 * `chunks` chunks of 64 KiB as fast as the consumer takes them; anything else gets a short
 * answer. It counts what it produced, so a test can see whether the server stopped the model
 * (back-pressure, or a cut-off consumer) or let it run to the end.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Message, ModelInfo, ModelProvider, ModelStreamOptions, ModelStreamResult } from '@gtp/core';

export const FLOOD_CHUNK_BYTES = 64 * 1024;
const CHUNK = 'x'.repeat(FLOOD_CHUNK_BYTES);

export class FloodModel implements ModelProvider {
  readonly info: ModelInfo = { provider: 'simulated', id: 'flood' };
  readonly chunks: number;
  /** Chunks of the flood produced so far. */
  produced = 0;
  /** The flood's generator has finished (ran to its end, or was stopped). */
  ended = false;

  constructor(chunks: number) {
    this.chunks = chunks;
  }

  async *stream(
    history: readonly Message[],
    options: ModelStreamOptions = {},
  ): AsyncGenerator<string, ModelStreamResult> {
    const text = history.at(-1)?.text ?? '';
    if (!text.startsWith('flood')) {
      yield 'A short ';
      yield 'answer.';
      return { finishReason: 'stop' };
    }
    try {
      for (let i = 0; i < this.chunks; i++) {
        options.signal?.throwIfAborted();
        await nextTurn(); // let the event loop breathe, as a network-bound model would
        this.produced += 1;
        yield CHUNK;
      }
      return { finishReason: 'stop' };
    } finally {
      this.ended = true;
    }
  }

  /** Resolves once the flood's generator has finished (bounded by `timeoutMs`). */
  async whenEnded(timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.ended && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  }

  /**
   * Resolves once production has stopped: the flood ended, or `produced` did not move for
   * `quietMs` (the consumer's back-pressure holds the model). Bounded by `timeoutMs`.
   */
  async settled(options: { quietMs?: number; timeoutMs?: number } = {}): Promise<void> {
    const quietMs = options.quietMs ?? 500;
    const deadline = Date.now() + (options.timeoutMs ?? 15_000);
    let last = -1;
    let since = Date.now();
    while (!this.ended && Date.now() < deadline) {
      if (this.produced !== last) {
        last = this.produced;
        since = Date.now();
      } else if (this.produced > 0 && Date.now() - since >= quietMs) return;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}
