/**
 * Server-Sent Events client: undici's EventSource for the session's event stream, POSTs to talk.
 *
 * What it teaches:
 * - One EventSource per session, opened by `useSession()`. It reconnects by itself when the
 *   stream ends or the network drops, and sends the id of the last event it saw as
 *   `Last-Event-ID`, so the server replays exactly what was missed.
 * - `send()` POSTs the message (202 {messageId}) and then yields that reply's events from the
 *   already-open stream until `done` or `error`. Ctrl+C (the signal) POSTs /cancel; the reply
 *   then ends on the stream with `done` (finishReason "cancelled").
 * - A server-sent `event: error` and EventSource's own connection `error` share one name: the
 *   first is a MessageEvent with `data`, the second a bare Event. Tell them apart by `data`.
 * - `/reconnect` asks the server to end the stream (as a proxy time-out would); watch the
 *   EventSource come back by itself and resume. `/stats` counts the reconnects.
 *
 * Run it: `pnpm serve sse` in one terminal, `pnpm client sse` in another
 * (`--url http://127.0.0.1:8003`, `--session <id>` to join a session another client uses).
 */
import { ChatError, type ChatEvent, isMain } from '@gtp/core';
import {
  type ExtraCommand,
  HttpApi,
  HttpClientAdapter,
  type NoticeListener,
  runClient,
  type SendOptions,
} from '@gtp/core/cli';
import { Agent, type Dispatcher, EventSource } from 'undici';

/** The ChatEvent types, each sent as its own `event:` name (EventSource dispatches by it). */
const CHAT_EVENT_TYPES = ['start', 'delta', 'done', 'error'] as const;
/** After Ctrl+C, how long to wait for the server's `done` (cancelled) before giving up. */
const CANCEL_CONFIRM_TIMEOUT_MS = 5_000;
/** The field names, separators and newlines of one `event:`/`id:`/`data:` frame. */
const FRAME_OVERHEAD_BYTES = 'event: \nid: \ndata: \n\n'.length;

const abortError = () => new DOMException('the reply was cancelled', 'AbortError');

export interface SseAdapterOptions {
  /** The server's AUTH_TOKEN: sent as `Authorization: Bearer` on every request, the stream included. */
  token?: string;
}

/**
 * An undici dispatcher that adds `Authorization: Bearer <token>` to every request it sends.
 * The browser's EventSource cannot send headers (hence `?access_token=` in the demo page), but
 * undici's takes a `dispatcher`, and a dispatcher can: the token stays out of the URL, so out
 * of access logs and proxies.
 */
function bearerDispatcher(token: string): Dispatcher {
  const authorization = `Bearer ${token}`;
  return new Agent().compose((dispatch) => (options, handler) => {
    const headers = options.headers;
    const withAuth = Array.isArray(headers)
      ? [...headers, 'authorization', authorization] // the flat [name, value, …] form
      : { ...(headers as Record<string, string> | undefined), authorization };
    return dispatch({ ...options, headers: withAuth }, handler);
  });
}

export class SseAdapter extends HttpClientAdapter {
  readonly protocol = 'sse' as const;
  readonly docsUrl: string;
  readonly demoUrl: string;
  readonly commands: readonly ExtraCommand[];
  readonly #dispatcher: Dispatcher | undefined;
  readonly #queues = new Set<EventQueue>();
  readonly #noticeListeners: NoticeListener[] = [];
  #source: EventSource | undefined;
  #sessionId: string | undefined;
  #lastEventId = '';
  #opened = false;
  #reconnects = 0;

  constructor(target: string, options: SseAdapterOptions = {}) {
    // The session routes come from HttpClientAdapter; the POSTs carry the header too.
    super(
      new HttpApi({
        baseUrl: target,
        headers: options.token ? { authorization: `Bearer ${options.token}` } : {},
      }),
    );
    this.#dispatcher = options.token ? bearerDispatcher(options.token) : undefined;
    this.docsUrl = `${this.target}/docs`;
    this.demoUrl = `${this.target}/demo`;
    this.commands = [
      {
        name: 'reconnect',
        description: 'drop the event stream (server side) and watch EventSource resume with Last-Event-ID',
        run: async (_args, { sessionId }) => {
          if (!sessionId) throw new ChatError('invalid_request', 'no session: use /new');
          const { dropped } = await this.api.json<{ dropped: number }>(
            'POST',
            `/sessions/${encodeURIComponent(sessionId)}/events/drop`,
          );
          return `dropped ${dropped} stream(s); EventSource reconnects by itself with Last-Event-ID: ${this.#lastEventId || '(none)'}`;
        },
      },
    ];
  }

  override async deleteSession(id: string): Promise<void> {
    await super.deleteSession(id);
    if (id === this.#sessionId) this.#closeSource();
  }
  reconnects(): number {
    return this.#reconnects;
  }
  onNotice(listener: NoticeListener): void {
    this.#noticeListeners.push(listener);
  }

  /** The id of the last event seen: what EventSource sends as Last-Event-ID when it reconnects. */
  get lastEventId(): string {
    return this.#lastEventId;
  }

  /** Open the session's event stream; resolves once it is open. An unknown session throws 404. */
  async useSession(sessionId: string): Promise<void> {
    if (sessionId === this.#sessionId && this.#source) return;
    await this.api.getSession(sessionId); // EventSource cannot show us a 404; ask first
    this.#closeSource();
    this.#sessionId = sessionId;
    this.#lastEventId = '';
    this.#opened = false;
    const url = `${this.target}/sessions/${encodeURIComponent(sessionId)}/events`;
    // With a token, the dispatcher adds the Authorization header to this request and to every
    // reconnect. (A client that cannot, like the browser's EventSource, appends
    // `?access_token=<token>` to the URL instead: the server accepts both.)
    const source = new EventSource(url, this.#dispatcher ? { dispatcher: this.#dispatcher } : {});
    this.#source = source;

    for (const type of [...CHAT_EVENT_TYPES, 'reset']) {
      source.addEventListener(type, (ev) => {
        const data = (ev as { data?: unknown }).data;
        if (typeof data !== 'string') return; // EventSource's own `error` (the connection), below
        this.#onFrame(type, data, (ev as { lastEventId?: string }).lastEventId ?? '');
      });
    }
    source.addEventListener('open', () => {
      if (this.#opened) {
        this.#reconnects += 1;
        this.#notice(`event stream reopened (Last-Event-ID: ${this.#lastEventId || 'none'}); resuming`);
      }
      this.#opened = true;
    });

    await new Promise<void>((resolve, reject) => {
      const onOpen = () => {
        source.removeEventListener('error', onError);
        resolve();
      };
      const onError = () => {
        // readyState CLOSED: a failure EventSource will not retry (not 200, not text/event-stream).
        if (source.readyState !== EventSource.CLOSED) return;
        source.removeEventListener('open', onOpen);
        reject(new ChatError('unavailable', `cannot open the event stream of session ${sessionId}`));
      };
      source.addEventListener('open', onOpen, { once: true });
      source.addEventListener('error', onError);
    });

    source.addEventListener('error', (ev) => {
      if (typeof (ev as { data?: unknown }).data === 'string') return; // a server `event: error`
      if (source.readyState === EventSource.CLOSED) {
        this.#failQueues(new ChatError('unavailable', 'the event stream failed and will not reconnect'));
        this.#notice('event stream closed for good');
      } else {
        this.#notice('event stream lost; EventSource is reconnecting…');
      }
    });
  }

  async *send(sessionId: string, text: string, options: SendOptions = {}): AsyncGenerator<ChatEvent, void> {
    const { signal } = options;
    await this.useSession(sessionId);
    // Listen before POSTing: the first events usually arrive before the 202 does.
    const queue = new EventQueue();
    this.#queues.add(queue);
    // EventSource's reconnect timer is unref'd: while we wait for this reply, keep the process alive.
    const keepAlive = setInterval(() => undefined, 60_000);
    const path = `/sessions/${encodeURIComponent(sessionId)}`;
    let giveUp: NodeJS.Timeout | undefined;
    const cancel = () => {
      void this.api.json('POST', `${path}/cancel`).catch(() => undefined);
      // If the server never confirms (it went away), stop waiting after a while.
      giveUp = setTimeout(() => queue.fail(abortError()), CANCEL_CONFIRM_TIMEOUT_MS);
    };
    try {
      const { messageId } = await this.api.json<{ messageId: string }>(
        'POST',
        `${path}/messages`,
        { text },
        signal,
      );
      // Ctrl+C: ask the server to stop. The reply then ends on the stream with `done` (cancelled).
      signal?.addEventListener('abort', cancel, { once: true });
      if (signal?.aborted) cancel();
      let started = false;
      let nextIndex = 0;
      for (;;) {
        const event = queue.take() ?? (await queue.next());
        if (!('messageId' in event) || event.messageId !== messageId) continue;
        // Resume never duplicates; a `reset` replays the reply from its start, so skip what we have.
        if (event.type === 'start') {
          if (started) continue;
          started = true;
        }
        if (event.type === 'delta') {
          if (event.index < nextIndex) continue;
          nextIndex = event.index + 1;
        }
        yield event;
        if (event.type === 'done' || event.type === 'error') return;
      }
    } finally {
      clearTimeout(giveUp);
      clearInterval(keepAlive);
      signal?.removeEventListener('abort', cancel);
      this.#queues.delete(queue);
    }
  }

  async close(): Promise<void> {
    this.#closeSource();
    await this.#dispatcher?.close();
  }

  #onFrame(type: string, data: string, id: string): void {
    // What this frame cost on the wire (EventSource does not expose the raw bytes):
    // `event: ` + type + `\nid: ` + id + `\ndata: ` + data + `\n\n`; type and id are ASCII.
    this.api.countBytes(FRAME_OVERHEAD_BYTES + type.length + id.length + Buffer.byteLength(data));
    this.#lastEventId = id;
    let parsed: unknown;
    try {
      parsed = JSON.parse(data);
    } catch {
      this.#notice(`ignored a malformed ${type} event`);
      return;
    }
    if (type === 'reset') {
      const { reason = '', replaying = false } = parsed as { reason?: string; replaying?: boolean };
      this.#notice(`the server could not resume the stream (${reason}); /history shows the conversation`);
      // No reply is running any more: a send() still waiting for one would wait forever.
      if (!replaying) {
        this.#failQueues(
          new ChatError(
            'unavailable',
            'the stream could not be resumed and the reply has ended; /history shows it',
          ),
        );
      }
      return;
    }
    for (const queue of this.#queues) queue.push(parsed as ChatEvent);
  }

  #closeSource(): void {
    this.#source?.close();
    this.#source = undefined;
    this.#sessionId = undefined;
    this.#failQueues(new ChatError('unavailable', 'the event stream was closed'));
  }

  #failQueues(error: ChatError): void {
    for (const queue of this.#queues) queue.fail(error);
  }

  #notice(text: string): void {
    for (const listener of this.#noticeListeners) listener(text);
  }
}

/**
 * Events waiting to be read by one `send()`. EventSource hands over a whole network read's
 * events at once, so `take()` returns what is already there without a promise; only an empty
 * queue costs a wait.
 */
class EventQueue {
  #items: ChatEvent[] = [];
  /** Index of the next item to read: no `shift()`, which copies on long queues. */
  #head = 0;
  #failure: Error | undefined;
  #wake: (() => void) | undefined;

  push(event: ChatEvent): void {
    this.#items.push(event);
    this.#wake?.();
  }

  fail(error: Error): void {
    this.#failure ??= error;
    this.#wake?.();
  }

  /** The next event if one is waiting. */
  take(): ChatEvent | undefined {
    if (this.#head === this.#items.length) return undefined;
    const item = this.#items[this.#head++];
    if (this.#head === this.#items.length) {
      this.#items = [];
      this.#head = 0;
    }
    return item;
  }

  /** The next event, waiting for it when none is there. */
  async next(): Promise<ChatEvent> {
    for (;;) {
      const item = this.take();
      if (item) return item;
      if (this.#failure) throw this.#failure;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
      this.#wake = undefined;
    }
  }
}

if (isMain(import.meta.url)) runClient('sse', (target, { token }) => new SseAdapter(target, { token }));
