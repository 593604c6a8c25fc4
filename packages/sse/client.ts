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
 * - A `reset` (the Last-Event-ID is older than the log keeps) that replays nothing: the reply in
 *   flight goes on live, and the text the client missed comes from the stored history when it
 *   ends; a reply that ended while the stream was down has its `done` read from the log (one
 *   GET with `Last-Event-ID: <newest - 1>`). Either way the screen shows exactly the stored reply.
 * - A reply whose stream cannot come back ends with a clear error and gives the prompt back: the
 *   stream down for STREAM_DOWN_GIVE_UP_MS, EventSource giving up (a 404 after a restart), or
 *   REPLY_SILENCE_MS without an event.
 * - `/reconnect` asks the server to end the stream (as a proxy time-out would); watch the
 *   EventSource come back by itself and resume. `/stats` counts the reconnects.
 *
 * Run it: `pnpm serve sse` in one terminal, `pnpm client sse` in another
 * (`--url http://127.0.0.1:8003`, `--session <id>` to join a session another client uses,
 * `--trace` to see each request and every event block as it arrives).
 */
import { AsyncQueue, ChatError, type ChatEvent, isMain, QueueTimeoutError } from '@gtp/core';
import {
  type AdapterOptions,
  type ExtraCommand,
  HttpApi,
  HttpClientAdapter,
  type LoggedEvent,
  type NoticeListener,
  type NoticeOptions,
  resumableReply,
  resumedNotice,
  runClient,
  type SendOptions,
} from '@gtp/core/cli';
import { Agent, type Dispatcher, EventSource, request } from 'undici';

/** The ChatEvent types, each sent as its own `event:` name (EventSource dispatches by it). */
const CHAT_EVENT_TYPES = ['start', 'delta', 'done', 'error'] as const;
/** After Ctrl+C, how long to wait for the server's `done` (cancelled) before giving up. */
const CANCEL_CONFIRM_TIMEOUT_MS = 5_000;
/** While a reply runs and the stream is down, how long EventSource may try before the reply is given up. */
export const STREAM_DOWN_GIVE_UP_MS = 10_000;
/** While a reply runs on an open stream, the longest silence (no event) before it is given up. */
export const REPLY_SILENCE_MS = 60_000;
/**
 * After a `reset` that replays nothing, while the history says no reply is running any more: how
 * long reading the reply's final event from the log may take.
 */
export const ENDED_WHILE_DOWN_GRACE_MS = 3_000;
/** The field names, separators and newlines of one `event:`/`id:`/`data:` frame. */
const FRAME_OVERHEAD_BYTES = 'event: \nid: \ndata: \n\n'.length;
/** The key of the one "reconnecting" status line the shell updates in place. */
const RECONNECT_NOTICE: NoticeOptions = { key: 'sse-reconnect' };

export interface SseAdapterOptions extends AdapterOptions {
  /** Override STREAM_DOWN_GIVE_UP_MS (tests). */
  streamDownGiveUpMs?: number;
  /** Override REPLY_SILENCE_MS (tests). */
  replySilenceMs?: number;
}

/**
 * The undici dispatcher for every request, the stream included. With a token it adds
 * `Authorization: Bearer <token>`: the browser's EventSource cannot send headers (hence
 * `?access_token=` in the demo page), but undici's takes a `dispatcher`, and a dispatcher can,
 * so the token stays out of the URL, and out of access logs and proxies.
 */
function dispatcherFor(target: string, token: string | undefined, ca?: Buffer): Dispatcher {
  // `connect.ca`: the CA of an https:// server's certificate (--ca, TLS_CA_FILE). https://: HTTP/2
  // when ALPN offers it, so the EventSource and the POSTs share one connection; http://: HTTP/1.1.
  const agent = new Agent({ connect: { ca }, allowH2: target.startsWith('https:') });
  if (!token) return agent;
  const authorization = `Bearer ${token}`;
  return agent.compose((dispatch) => (options, handler) => {
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
  readonly #dispatcher: Dispatcher;
  /** One per reply being waited for: every frame of the stream, with its seq (a `reset` too). */
  readonly #queues = new Set<AsyncQueue<LoggedEvent>>();
  readonly #noticeListeners: NoticeListener[] = [];
  readonly #streamDownGiveUpMs: number;
  readonly #replySilenceMs: number;
  #source: EventSource | undefined;
  #sessionId: string | undefined;
  #lastEventId = '';
  #opened = false;
  #reconnects = 0;
  /** When the stream was lost, while EventSource tries to reopen it. */
  #lostAt: number | undefined;
  #attempts = 0;
  #giveUpTimer: NodeJS.Timeout | undefined;

  constructor(target: string, options: SseAdapterOptions = {}) {
    const dispatcher = dispatcherFor(target, options.token, options.ca);
    // The session routes come from HttpClientAdapter, over the same dispatcher as the stream
    // (so the token, and --trace, cover both).
    super(new HttpApi({ baseUrl: target, dispatcher }), options.trace);
    this.#dispatcher = dispatcher;
    this.#streamDownGiveUpMs = options.streamDownGiveUpMs ?? STREAM_DOWN_GIVE_UP_MS;
    this.#replySilenceMs = options.replySilenceMs ?? REPLY_SILENCE_MS;
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
    if (sessionId === this.#sessionId && this.#source && this.#source.readyState !== EventSource.CLOSED)
      return;
    await this.api.getSession(sessionId); // EventSource cannot show us a 404; ask first
    this.#closeSource();
    this.#sessionId = sessionId;
    this.#lastEventId = '';
    this.#opened = false;
    const url = `${this.target}/sessions/${encodeURIComponent(sessionId)}/events`;
    // The dispatcher adds the Authorization header (with a token) to this request and to every
    // reconnect. (A client that cannot, like the browser's EventSource, appends
    // `?access_token=<token>` to the URL instead: the server accepts both.)
    const source = new EventSource(url, { dispatcher: this.#dispatcher });
    this.#source = source;

    // A ChatEvent `error` arrives as `event: chat-error` (EventSource keeps `error` for itself).
    for (const type of [...CHAT_EVENT_TYPES.map((t) => (t === 'error' ? 'chat-error' : t)), 'reset']) {
      source.addEventListener(type, (ev) => {
        const data = (ev as { data?: unknown }).data;
        if (typeof data !== 'string') return; // EventSource's own `error` (the connection), below
        this.#onFrame(type, data, (ev as { lastEventId?: string }).lastEventId ?? '');
      });
    }
    source.addEventListener('open', () => {
      if (this.#opened) {
        this.#reconnects += 1;
        if (this.#queues.size > 0)
          // A reply of ours was cut: one dim line, as every client says it.
          this.#notice(
            resumedNotice(
              Number(this.#lastEventId) || 0,
              Math.max(1, this.#attempts),
              performance.now() - (this.#lostAt ?? performance.now()),
            ),
            { dim: true },
          );
        else
          this.#notice(
            `event stream reopened (Last-Event-ID: ${this.#lastEventId || 'none'}); resuming`,
            RECONNECT_NOTICE,
          );
      }
      this.#opened = true;
      this.#streamBack();
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
      if (source !== this.#source) return;
      if (source.readyState === EventSource.CLOSED) void this.#streamGone(sessionId);
      else this.#streamLost();
    });
  }

  async *send(sessionId: string, text: string, options: SendOptions = {}): AsyncGenerator<ChatEvent, void> {
    const { signal } = options;
    await this.useSession(sessionId);
    // Listen before POSTing: the first events usually arrive before the 202 does.
    const queue = new AsyncQueue<LoggedEvent>();
    this.#queues.add(queue);
    // A stream already down when the reply starts gets the same bound as one lost during it.
    if (this.#lostAt !== undefined) this.#armGiveUp();
    // EventSource's reconnect timer is unref'd: while we wait for this reply, keep the process alive.
    const keepAlive = setInterval(() => undefined, 60_000);
    const path = `/sessions/${encodeURIComponent(sessionId)}`;
    let giveUp: NodeJS.Timeout | undefined;
    const cancel = () => {
      // If the server cannot take the cancel, or never confirms it, the reply cannot end with a
      // `done`: end it with an error that says so, never with a "cancelled" nobody confirmed.
      this.api.json('POST', `${path}/cancel`).catch((error: unknown) => {
        queue.fail(
          new ChatError(
            'unavailable',
            `could not cancel the reply: ${error instanceof Error ? error.message : String(error)}`,
          ),
        );
      });
      giveUp = setTimeout(
        () =>
          queue.fail(
            new ChatError(
              'unavailable',
              `the server did not confirm the cancel within ${CANCEL_CONFIRM_TIMEOUT_MS} ms; /history shows what it stored`,
            ),
          ),
        CANCEL_CONFIRM_TIMEOUT_MS,
      );
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
      // The shared reader (the one NDJSON and WebSocket use) drops what a `reset` replays and,
      // when a reset replays nothing (the reply's start is past the log's bound), takes the text
      // it could not read from the stored history, so the screen shows exactly the stored reply.
      yield* resumableReply({
        first: this.#replyFrames(queue, sessionId, messageId),
        // EventSource resumes in place (Last-Event-ID), never through a second call.
        resume: () => {
          throw new ChatError('internal', 'the SSE reply resumes on its reconnected EventSource');
        },
        history: () => this.api.history(sessionId),
        dropped: () => false,
        notice: (notice) => this.#notice(notice, { dim: true }),
        signal,
      });
    } finally {
      clearTimeout(giveUp);
      clearInterval(keepAlive);
      signal?.removeEventListener('abort', cancel);
      this.#queues.delete(queue);
      if (this.#queues.size === 0) clearTimeout(this.#giveUpTimer);
    }
  }

  /**
   * The frames of reply `messageId` from the session's stream, to its final event. A delta names
   * no reply: it belongs to the reply whose `start` came before it (one reply at a time per
   * session). A `reset` that replays nothing leaves the reply in flight going on live, without a
   * new `start`; if the history says no reply runs any more, the reply ended while the stream
   * was down and its end is no longer kept: its final event gets ENDED_WHILE_DOWN_GRACE_MS.
   */
  async *#replyFrames(
    queue: AsyncQueue<LoggedEvent>,
    sessionId: string,
    messageId: string,
  ): AsyncGenerator<LoggedEvent, void> {
    let ours = false;
    let started = false;
    for (;;) {
      const item = queue.take() ?? (await this.#nextFrame(queue));
      if (!item) throw new ChatError('unavailable', 'the event stream was closed');
      if ('reset' in item) {
        if (!started) continue;
        ours = !item.reset.replaying; // a replay starts again with the reply's `start`
        yield item;
        // While a turn runs its user message is the history's last; the frames wait in the queue.
        if (!item.reset.replaying && (await this.#noTurnRunning(sessionId))) {
          // It ended while the stream was down: its final event is the log's newest (or comes now).
          const end = await this.#finalFromLog(sessionId, messageId, item.seq - 1);
          if (end) {
            yield end;
            return;
          }
          throw new ChatError(
            'unavailable',
            'the reply ended while the event stream was down, and its end is no longer kept for resume; /history shows it as stored',
          );
        }
        continue;
      }
      const { event } = item;
      if (event.type === 'start') {
        ours = event.messageId === messageId;
        started ||= ours;
      } else if (event.type !== 'delta') {
        // `done` / `error` name their reply.
        if (event.messageId !== messageId) continue;
        yield item;
        return;
      }
      if (ours) yield item;
    }
  }

  async close(): Promise<void> {
    this.#closeSource();
    this.untrace();
    await this.#dispatcher.close();
  }

  /** Whether the session's history ends with a model turn (or nothing): no reply is running. */
  async #noTurnRunning(sessionId: string): Promise<boolean> {
    try {
      return (await this.api.history(sessionId)).at(-1)?.role !== 'user';
    } catch {
      return false; // cannot tell: the silence bound still applies
    }
  }

  /** The next frame of a reply, bounded: an open stream that stays silent this long is given up. */
  async #nextFrame(queue: AsyncQueue<LoggedEvent>): Promise<LoggedEvent | undefined> {
    try {
      return await queue.next({ timeoutMs: this.#replySilenceMs });
    } catch (error) {
      if (!(error instanceof QueueTimeoutError)) throw error;
      throw new ChatError(
        'unavailable',
        `no event for ${this.#replySilenceMs / 1000} s: the reply cannot come back on this stream; /history shows what the server stored`,
      );
    }
  }

  /**
   * The final event of reply `messageId` from the log: one more GET of the event stream with
   * `Last-Event-ID: after` (the newest id the reset named, minus one), read until that reply's
   * `done` / `chat-error`, for at most ENDED_WHILE_DOWN_GRACE_MS. Undefined when the log no longer
   * has it (a `reset`, another reply's end, the bound passed).
   */
  async #finalFromLog(sessionId: string, messageId: string, after: number): Promise<LoggedEvent | undefined> {
    const signal = AbortSignal.timeout(ENDED_WHILE_DOWN_GRACE_MS);
    try {
      const response = await request(`${this.target}/sessions/${encodeURIComponent(sessionId)}/events`, {
        headers: { accept: 'text/event-stream', 'last-event-id': String(after) },
        dispatcher: this.#dispatcher,
        signal,
      });
      if (response.statusCode !== 200) {
        await response.body.dump();
        return undefined;
      }
      let buffered = '';
      try {
        for await (const chunk of response.body) {
          this.api.countBytes((chunk as Buffer).length);
          buffered += (chunk as Buffer).toString('utf8');
          for (let end = buffered.indexOf('\n\n'); end >= 0; end = buffered.indexOf('\n\n')) {
            const block = parseFrame(buffered.slice(0, end));
            buffered = buffered.slice(end + 2);
            if (!block) continue; // retry:, a comment
            if (block.type === 'reset') return undefined;
            if (block.type !== 'done' && block.type !== 'chat-error') continue;
            const event = JSON.parse(block.data) as ChatEvent & { messageId?: string };
            if (event.messageId === messageId) return { seq: block.seq, event };
            return undefined;
          }
        }
      } finally {
        response.body.destroy();
      }
    } catch {
      // unreachable, timed out, not JSON: the log cannot give the end
    }
    return undefined;
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
    const seq = Number(id) || 0;
    if (type === 'reset') {
      const { reason = '', replaying = false } = parsed as { reason?: string; replaying?: boolean };
      // A reply of ours reads the reset (it fills what it missed from the history); otherwise say it.
      if (this.#queues.size === 0)
        this.#notice(`the server could not resume the stream (${reason}); /history shows the conversation`);
      for (const queue of this.#queues) queue.push({ seq, reset: { reason, replaying } });
      return;
    }
    // A delta's data is its text alone, as a JSON string (`data: "Hel"`): the event name says the rest.
    const event = type === 'delta' ? { type: 'delta' as const, text: String(parsed) } : (parsed as ChatEvent);
    for (const queue of this.#queues) queue.push({ seq, event });
  }

  /** EventSource lost the stream and is retrying: one status line, updated per attempt. */
  #streamLost(): void {
    this.#lostAt ??= performance.now();
    this.#attempts += 1;
    const seconds = ((performance.now() - this.#lostAt) / 1000).toFixed(0);
    // While a reply of ours waits, quiet: its resume says so in one line (or its give-up does).
    if (this.#queues.size > 0) this.#armGiveUp();
    else
      this.#notice(
        `event stream lost; EventSource is reconnecting (attempt ${this.#attempts}, ${seconds} s)…`,
        RECONNECT_NOTICE,
      );
  }

  #streamBack(): void {
    this.#lostAt = undefined;
    this.#attempts = 0;
    clearTimeout(this.#giveUpTimer);
    this.#giveUpTimer = undefined;
  }

  /** A reply waiting on a stream that is down gets STREAM_DOWN_GIVE_UP_MS for it to come back. */
  #armGiveUp(): void {
    if (this.#giveUpTimer) return;
    this.#giveUpTimer = setTimeout(() => {
      this.#giveUpTimer = undefined;
      this.#failQueues(
        new ChatError(
          'unavailable',
          `the event stream has been down for ${this.#streamDownGiveUpMs / 1000} s (is the server running?); the reply is given up, /history shows what the server stored`,
        ),
      );
    }, this.#streamDownGiveUpMs);
  }

  /** EventSource gave up (a 404, 401, not an event stream): say why, from the session route. */
  async #streamGone(sessionId: string): Promise<void> {
    this.#streamBack();
    let why = 'the server refused to reopen it';
    try {
      await this.api.getSession(sessionId);
    } catch (error) {
      why =
        error instanceof ChatError && error.code === 'session_not_found'
          ? `the session ${sessionId} is gone (the server restarted or it was deleted); /new starts a new one`
          : error instanceof Error
            ? error.message
            : String(error);
    }
    this.#failQueues(new ChatError('unavailable', `the event stream closed for good: ${why}`));
    this.#notice(`event stream closed for good: ${why}`, RECONNECT_NOTICE);
  }

  #closeSource(): void {
    this.#source?.close();
    this.#source = undefined;
    this.#sessionId = undefined;
    this.#streamBack();
    this.#failQueues(new ChatError('unavailable', 'the event stream was closed'));
  }

  #failQueues(error: ChatError): void {
    for (const queue of this.#queues) queue.fail(error);
  }

  #notice(text: string, options?: NoticeOptions): void {
    for (const listener of this.#noticeListeners) listener(text, options);
  }
}

/** One `event:`/`id:`/`data:` block of an event stream; undefined for one with no `event:`. */
function parseFrame(block: string): { type: string; seq: number; data: string } | undefined {
  const fields = new Map<string, string>();
  for (const line of block.split('\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue; // a comment, or no field
    fields.set(line.slice(0, colon), line.slice(colon + 1).replace(/^ /, ''));
  }
  const type = fields.get('event');
  return type ? { type, seq: Number(fields.get('id')) || 0, data: fields.get('data') ?? '' } : undefined;
}

if (isMain(import.meta.url)) runClient('sse', (target, options) => new SseAdapter(target, options));
