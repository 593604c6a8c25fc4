/**
 * Test helpers: a raw `text/event-stream` reader over undici (so tests see every frame, comments
 * and `retry:` included, and choose their own Last-Event-ID), and small JSON calls.
 */

import { setTimeout as sleep } from 'node:timers/promises';
import type { ChatEvent, Message, ModelInfo, ModelProvider, ModelStreamResult } from '@gtp/core';
import { request } from 'undici';

export interface Frame {
  event?: string;
  id?: string;
  data?: string;
  retry?: string;
  comment?: string;
  /** performance.now() when the frame was complete. */
  at: number;
}

/** One SSE response, parsed into frames as they arrive. */
export class SseReader {
  readonly frames: Frame[] = [];
  status = 0;
  headers: Record<string, string | string[] | undefined> = {};
  ended = false;
  readonly #controller = new AbortController();
  readonly #waiters = new Set<() => void>();
  #done: Promise<void> = Promise.resolve();

  static async open(url: string, headers: Record<string, string> = {}): Promise<SseReader> {
    const reader = new SseReader();
    const response = await request(url, {
      headers: { accept: 'text/event-stream', ...headers },
      signal: reader.#controller.signal,
    });
    reader.status = response.statusCode;
    reader.headers = response.headers;
    reader.#done = reader.#read(response.body);
    return reader;
  }

  /**
   * The ChatEvents (and resets) with their ids, in arrival order. A delta's data is its text
   * alone, a JSON string (`data: "Hel"`): it is read back as the ChatEvent `{type: 'delta', text}`.
   */
  get events(): { id: number; type: string; data: ChatEvent }[] {
    return this.frames
      .filter((f) => f.event !== undefined && f.data !== undefined)
      .map((f) => {
        const data = JSON.parse(f.data!) as ChatEvent | string;
        return {
          id: Number(f.id),
          type: f.event!,
          data: typeof data === 'string' ? { type: 'delta' as const, text: data } : data,
        };
      });
  }

  get lastId(): string | undefined {
    return this.frames.findLast((f) => f.id !== undefined)?.id;
  }

  /** Resolves when `predicate` holds for the frames received (checked on every frame). */
  async until(predicate: (reader: SseReader) => boolean, timeoutMs = 5_000): Promise<void> {
    if (predicate(this)) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`condition not met within ${timeoutMs} ms; got ${this.frames.length} frames`));
      }, timeoutMs);
      const check = () => {
        if (!predicate(this)) return;
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve();
      };
      this.#waiters.add(check);
    });
  }

  untilEvent(type: string, timeoutMs?: number): Promise<void> {
    return this.until((r) => r.frames.some((f) => f.event === type), timeoutMs);
  }

  untilEnded(timeoutMs?: number): Promise<void> {
    return this.until((r) => r.ended, timeoutMs);
  }

  async close(): Promise<void> {
    this.#controller.abort();
    await this.#done;
  }

  async #read(body: AsyncIterable<Buffer>): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = '';
    let frame: Omit<Frame, 'at'> = {};
    try {
      for await (const chunk of body) {
        buffer += decoder.decode(chunk, { stream: true });
        const lines = buffer.split('\n');
        buffer = lines.pop() ?? '';
        for (const line of lines) {
          if (line === '') {
            if (Object.keys(frame).length > 0) this.frames.push({ ...frame, at: performance.now() });
            frame = {};
          } else if (line.startsWith(':')) {
            frame.comment = line.slice(1).trim();
          } else {
            const colon = line.indexOf(':');
            const field = line.slice(0, colon) as 'event' | 'id' | 'data' | 'retry';
            frame[field] = line.slice(colon + 1).replace(/^ /, '');
          }
        }
        this.#notify();
      }
    } catch {
      // aborted by close(), or the server cut the connection
    }
    this.ended = true;
    this.#notify();
  }

  #notify(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }
}

export async function json<T = unknown>(
  method: 'GET' | 'POST' | 'DELETE',
  url: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const response = await request(url, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.body.text();
  return { status: response.statusCode, body: (text ? JSON.parse(text) : undefined) as T };
}

export async function createSession(url: string): Promise<string> {
  return (await json<{ id: string }>('POST', `${url}/sessions`)).body.id;
}

export async function history(url: string, sessionId: string): Promise<Message[]> {
  return (await json<{ messages: Message[] }>('GET', `${url}/sessions/${sessionId}/messages`)).body.messages;
}

/** The text of the deltas of a list of events. */
export function textOf(events: { data: ChatEvent }[]): string {
  return events.map((e) => (e.data.type === 'delta' ? e.data.text : '')).join('');
}

/**
 * A model that streams `count` chunks of `size` bytes, 1 ms apart: enough to fill any socket
 * buffer, paced (as real models are) so that a listener that reads keeps up.
 */
export class BulkModel implements ModelProvider {
  readonly info: ModelInfo = { provider: 'simulated', id: 'bulk-test' };
  readonly #count: number;
  readonly #size: number;

  constructor(count: number, size: number) {
    this.#count = count;
    this.#size = size;
  }

  async *stream(): AsyncGenerator<string, ModelStreamResult> {
    for (let i = 0; i < this.#count; i++) {
      if (i > 0) await sleep(1);
      yield `${String(i % 10).repeat(this.#size - 1)} `;
    }
    return { finishReason: 'stop', usage: { inputTokens: 1, outputTokens: this.#count } };
  }
}
