import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { SIMULATED_MODEL_ID } from '../constants.ts';
import { ChatError } from '../errors.ts';
import type { Message, ModelInfo } from '../events.ts';
import type { ModelProvider, ModelStreamOptions, ModelStreamResult } from './types.ts';

export interface SimulatedModelOptions {
  /** Delay before the first token, ms. */
  ttftMs: number;
  /** Delay between tokens, ms. */
  tokenDelayMs: number;
  /** Fail with `model_error` after this many tokens (fault injection for tests). */
  failAfterTokens?: number;
  /** Stop with `max_tokens` after this many tokens. */
  maxOutputTokens?: number;
}

const REMARKS = [
  'Streaming lets the first words reach you long before the last ones are written.',
  'A unary call is simple to cache and retry, but the reader waits for the whole answer.',
  'Server-Sent Events ride on plain HTTP, so proxies and browsers already understand them.',
  'WebSockets keep one connection open in both directions, which suits shared live sessions.',
  'gRPC brings a typed contract and multiplexed HTTP/2 streams, at the cost of browser support.',
  'Newline-delimited JSON is the least ceremony that still streams: one event per line.',
  'Cancellation matters: a reply nobody reads should stop costing tokens at once.',
  'Measured numbers beat estimates, which is why this project ships a benchmark.',
];

export const quote = (text: string, max = 60) => {
  const flat = text.replace(/\s+/g, ' ').trim();
  // Cut by code point, not UTF-16 unit: an emoji is never split into a lone surrogate.
  const points = [...flat];
  return points.length > max ? `${points.slice(0, max - 1).join('')}…` : flat;
};

const NAME_PATTERN = /\b(?:[Mm]y name is|[Ii] am called|[Cc]all me)\s+(\p{Lu}[\p{L}'-]*)/u;

/** The name the user gave most recently ("My name is Ada"), with the turn that said it. */
function toldName(userTurns: readonly Message[]): { name: string; turn: number } | undefined {
  for (let i = userTurns.length - 1; i >= 0; i--) {
    const match = NAME_PATTERN.exec(userTurns[i]!.text);
    if (match?.[1]) return { name: match[1], turn: i + 1 };
  }
  return undefined;
}

/** Whitespace-separated words as tokens, each keeping its trailing space. */
export function tokenize(text: string): string[] {
  return text.match(/\S+\s*/g) ?? [];
}

/**
 * The offline default: a deterministic model whose reply shows it read the conversation
 * (turn number, the user's words, the previous and first questions, a name it was told), paced
 * like a hosted model.
 */
export class SimulatedModel implements ModelProvider {
  readonly info: ModelInfo = { provider: 'simulated', id: SIMULATED_MODEL_ID };
  readonly #options: SimulatedModelOptions;

  constructor(options: SimulatedModelOptions) {
    this.#options = options;
  }

  /**
   * The full reply the model will stream for this history. Same history, same reply. It shows
   * that the whole history reached it: the turn number, the latest words, the previous and the
   * first question, a name it was told, and how much it read.
   */
  compose(history: readonly Message[]): string {
    const userTurns = history.filter((m) => m.role === 'user');
    const latest = userTurns.at(-1)?.text ?? '';
    const turn = userTurns.length;
    const digest = createHash('sha256').update(latest).digest();
    const first = REMARKS[digest[0]! % REMARKS.length]!;
    const second = REMARKS[(digest[0]! + 1 + (digest[1]! % (REMARKS.length - 1))) % REMARKS.length]!;
    const parts = [`Turn ${turn}: you said "${quote(latest)}".`];
    const previous = userTurns.at(-2);
    if (previous) parts.push(`Before that you asked "${quote(previous.text, 40)}".`);
    const opening = userTurns[0];
    if (opening && turn >= 3) parts.push(`Your first message was "${quote(opening.text, 40)}".`);
    const name = toldName(userTurns.slice(0, -1));
    if (name) parts.push(`Your name is ${name.name} (you told me in turn ${name.turn}).`);
    if (history.length > 1) {
      const words = history.reduce((sum, m) => sum + tokenize(m.text).length, 0);
      parts.push(`I read all ${history.length} messages so far (${words} words).`);
    }
    parts.push(first, second);
    return parts.join(' ');
  }

  async *stream(
    history: readonly Message[],
    options: ModelStreamOptions = {},
  ): AsyncGenerator<string, ModelStreamResult> {
    const { signal } = options;
    const { ttftMs, tokenDelayMs, failAfterTokens, maxOutputTokens } = this.#options;
    const tokens = tokenize(this.compose(history));
    const inputTokens = history.reduce((sum, m) => sum + tokenize(m.text).length, 0);
    signal?.throwIfAborted();
    if (ttftMs > 0) await sleep(ttftMs, undefined, { signal });
    let sent = 0;
    for (const token of tokens) {
      signal?.throwIfAborted();
      if (failAfterTokens !== undefined && sent >= failAfterTokens) {
        throw new ChatError('model_error', `simulated model failure after ${sent} tokens`);
      }
      if (maxOutputTokens !== undefined && sent >= maxOutputTokens) {
        return { finishReason: 'max_tokens', usage: { inputTokens, outputTokens: sent } };
      }
      if (sent > 0 && tokenDelayMs > 0) await sleep(tokenDelayMs, undefined, { signal });
      sent += 1;
      yield token;
    }
    return { finishReason: 'stop', usage: { inputTokens, outputTokens: sent } };
  }
}
