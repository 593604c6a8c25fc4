/**
 * One open `text/event-stream` response: the SSE wire format and back-pressure, nothing else.
 *
 * The format (https://html.spec.whatwg.org/multipage/server-sent-events.html) is lines of
 * `field: value`, and a blank line ends an event:
 *
 *     retry: 2000              reconnection delay the EventSource should use, ms
 *
 *     event: start             the event's type (EventSource dispatches it by this name)
 *     id: 41                   remembered by the EventSource, sent back as Last-Event-ID
 *     data: {"type":"start",…} the payload; JSON.stringify never emits a newline
 *
 *     event: delta             a piece of the reply: its data is the text alone, a JSON string;
 *     id: 42                   the event name says what it is, the id orders it, and the reply
 *     data: "Hel"              is the one whose `start` came before it (README, "On the wire")
 *
 *     : heartbeat              a comment: ignored by EventSource, keeps proxies from timing out
 */
import type { ServerResponse } from 'node:http';
import { type LoggedEvent, type ReplyListener, SSE_STALL_TIMEOUT_MS } from '@gtp/core';

export interface SseStreamOptions {
  /** More than this many bytes waiting to be written: the reader is too slow, drop it. */
  maxQueuedBytes: number;
  /**
   * A stream whose writes have not drained for this long is a frozen listener (a suspended tab, a
   * dead peer whose kernel still holds the connection): closed at its next write (a heartbeat at
   * the latest). Default SSE_STALL_TIMEOUT_MS.
   */
  stallTimeoutMs?: number;
  /** Called with every byte count written (for /stats). */
  onBytes?: (bytes: number) => void;
  /** Called once when the stream ends, whoever ended it. */
  onClose?: () => void;
}

/** 1 MiB queued on top of what the kernel's socket buffers already hold. */
export const DEFAULT_MAX_QUEUED_BYTES = 1024 * 1024;

/** The `reset` event: not a ChatEvent; it tells the client to reload the history. */
export interface ResetEvent {
  type: 'reset';
  reason: string;
  /** True when the reply in flight follows from its start; false when none is running. */
  replaying: boolean;
}

export class SseStream implements ReplyListener {
  readonly #res: ServerResponse;
  readonly #options: SseStreamOptions;
  #closed = false;
  /** When a write last found the socket full (write() returned false) and no drain since. */
  #stalledSince: number | undefined;

  constructor(res: ServerResponse, options: SseStreamOptions) {
    this.#res = res;
    this.#options = options;
    res.once('close', () => this.#finish());
    res.on('drain', () => {
      this.#stalledSince = undefined;
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Tell the EventSource how long to wait before reconnecting. */
  retry(ms: number): void {
    this.#write(`retry: ${Math.round(ms)}\n\n`);
  }

  /** One event of the reply log: its seq is the frame's `id:`. */
  send({ seq, type, data }: LoggedEvent): void {
    this.#write(frame(type, seq, type === 'delta' ? deltaData(data) : data));
  }

  reset(latestSeq: number, reason: string, replaying: boolean): void {
    // Carrying the newest id moves the client's Last-Event-ID forward, so its next reconnect resumes.
    const event: ResetEvent = { type: 'reset', reason, replaying };
    this.#write(frame('reset', latestSeq, JSON.stringify(event)));
  }

  comment(text: string): void {
    this.#write(`: ${text}\n\n`);
  }

  /** End the response normally; an EventSource will reconnect after `retry` ms. */
  close(): void {
    if (this.#closed) return;
    this.#res.end();
    this.#finish();
  }

  #write(chunk: string): void {
    if (this.#closed) return;
    // res.write never blocks: it queues in memory when the socket is full and returns false.
    // The reply log never waits for one listener, so a slow one only grows its own queue; past the
    // limit it is cut off, and resumes from its Last-Event-ID when it reconnects.
    const flushed = this.#res.write(chunk);
    this.#options.onBytes?.(Buffer.byteLength(chunk));
    const now = performance.now();
    if (!flushed) this.#stalledSince ??= now;
    const stalledMs = this.#stalledSince === undefined ? 0 : now - this.#stalledSince;
    if (this.#res.writableLength > this.#options.maxQueuedBytes) {
      this.#res.destroy(new Error('listener too slow: send queue over its limit'));
      this.#finish();
    } else if (stalledMs > (this.#options.stallTimeoutMs ?? SSE_STALL_TIMEOUT_MS)) {
      // Nothing has drained for the bound: the listener is frozen, not slow.
      this.#res.destroy(new Error('listener frozen: nothing drained within SSE_STALL_TIMEOUT_MS'));
      this.#finish();
    }
  }

  #finish(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#options.onClose?.();
  }
}

/** How the reply log serialises a delta (`{type, text}`, in that order: ChatService builds it so). */
const DELTA_PREFIX = '{"type":"delta","text":';

/**
 * A delta's `data:`, its text as a JSON string, cut out of the log's JSON rather than encoded
 * again: `{"type":"delta","text":"Hel"}` → `"Hel"`. Anything else is sent whole.
 */
export function deltaData(data: string): string {
  return data.startsWith(DELTA_PREFIX) && data.endsWith('}') ? data.slice(DELTA_PREFIX.length, -1) : data;
}

/** `data` is one line of JSON (JSON.stringify never emits a newline), serialised by the reply log once. */
function frame(type: string, id: number, data: string): string {
  return `event: ${sseEventName(type)}\nid: ${id}\ndata: ${data}\n\n`;
}

/**
 * The `event:` name of a ChatEvent `error`. Not `error`: EventSource fires its own `error` event
 * for a lost connection, and a page listening for one would get both.
 */
export const SSE_ERROR_EVENT_NAME = 'chat-error';

/** The `event:` name of a ChatEvent type on this stream (EventSource dispatches by it). */
export function sseEventName(type: string): string {
  return type === 'error' ? SSE_ERROR_EVENT_NAME : type;
}
