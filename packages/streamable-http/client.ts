/**
 * Streamable HTTP client: read one POST's answer line by line while it is still arriving.
 *
 * What it teaches: a streaming HTTP response with undici. `send()` POSTs the message and, once
 * the 200 arrives, iterates the response body chunk by chunk. Network chunks do not respect line
 * boundaries (a chunk may hold half a line, or three lines), so a LineSplitter buffers the
 * partial line until its newline arrives; every complete line is one ChatEvent, yielded at once,
 * and the shell prints each delta as it comes. Ctrl+C POSTs /sessions/:id/cancel (a closed
 * connection alone is not a Stop: the server keeps the reply for a resume grace, since it cannot
 * tell Ctrl+C from a lost network) and aborts the request; the server stops the model, keeping
 * the partial reply as interrupted, and the next message finds the session free.
 *
 * Resume: every line carries `seq`. When the connection drops mid-reply (not Ctrl+C), the client
 * GETs `/sessions/:id/replies/:messageId?after=<last seq>` with backoff and reads the rest of the
 * reply, live, from the server's reply log; the shell prints one dim "resumed" line. A `reset`
 * line (the log no longer holds that point) either replays the reply from its start (what was
 * already shown is skipped by its seq) or leaves a gap, filled from GET …/messages at the end; a
 * reply that ended while the connection was down (the reset line, then the end of the response)
 * takes its final line from one more GET after the reset's seq - 1, and is not resumed again; a
 * resume GET silent for RESUMED_SILENCE_MS ends the reply with an error (the prompt comes back).
 *
 * Everything else (readline, commands, the spinner, client-side stats) is the shared shell from
 * @gtp/core/cli; the session routes are the shared HttpApi.
 *
 * Run it:   pnpm serve streamable-http      (in one terminal)
 *           pnpm client streamable-http          (in another; --url http://host:port to point elsewhere, --trace to see the wire)
 */
import { ChatError, type ChatEvent, isMain, LineSplitter } from '@gtp/core';
import {
  type AdapterOptions,
  connectionError,
  errorFromBody,
  HttpClientAdapter,
  httpPool,
  type LoggedEvent,
  type NoticeListener,
  RESUMED_SILENCE_MS,
  resumableReply,
  runClient,
  type SendOptions,
} from '@gtp/core/cli';
import { type Agent, request } from 'undici';

/**
 * The longest silence allowed between two chunks of the body (undici's bodyTimeout). A streamed
 * reply can pause while the model thinks; five minutes is undici's default, said out loud.
 */
export const IDLE_TIMEOUT_MS = 5 * 60_000;
export interface StreamableHttpAdapterOptions extends AdapterOptions {
  /** Override RESUMED_SILENCE_MS (tests). */
  resumedSilenceMs?: number;
}

/**
 * A resumed reply (the GET after a drop) silent for RESUMED_SILENCE_MS: the server answered, the
 * reply is not coming. Not a drop to resume again: the reply ends with it, never a loop.
 */
class ResumedSilence extends ChatError {}

/** How long reading a reply's final event from the log may take (the server answers at once). */
const FINAL_FROM_LOG_TIMEOUT_MS = 3_000;

/**
 * NDJSON chunks → ChatEvents. `chunks` is any byte stream (an undici body, a fetch reader, a test
 * array); `onBytes` sees the size of each chunk as it arrives.
 */
export async function* readNdjson(
  chunks: AsyncIterable<Uint8Array | string>,
  onBytes?: (bytes: number) => void,
): AsyncGenerator<ChatEvent> {
  const lines = new LineSplitter();
  for await (const chunk of chunks) {
    onBytes?.(typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.byteLength);
    for (const line of lines.push(chunk)) yield parseEvent(line);
  }
  // A last line without its newline still counts (a server that forgot it, a proxy that cut it).
  for (const line of lines.flush()) yield parseEvent(line);
}

/** One line as a ChatEvent; anything else is the server breaking the contract. */
export function parseEvent(line: string): ChatEvent {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new ChatError('internal', `the server sent a line that is not JSON: ${line.slice(0, 80)}`);
  }
  if (typeof value !== 'object' || value === null || typeof (value as { type?: unknown }).type !== 'string') {
    throw new ChatError('internal', `the server sent a line that is not a ChatEvent: ${line.slice(0, 80)}`);
  }
  return value as ChatEvent;
}

/**
 * A line as the resume logic reads it: its `seq` (every line has one) and the ChatEvent, or the
 * server's `reset` (`{"seq","type":"reset","reason","replaying"}`).
 */
export function loggedEvent(line: ChatEvent & { seq?: unknown }): LoggedEvent {
  const { seq, ...event } = line;
  const at = typeof seq === 'number' ? seq : 0;
  if ((event as { type: string }).type === 'reset') {
    const { reason = '', replaying = false } = event as { reason?: string; replaying?: boolean };
    return { seq: at, reset: { reason, replaying } };
  }
  return { seq: at, event: event as ChatEvent };
}

export class StreamableHttpAdapter extends HttpClientAdapter {
  readonly protocol = 'streamable-http' as const;
  readonly docsUrl: string;
  readonly demoUrl: string;
  readonly #agent: Agent;
  readonly #noticeListeners: NoticeListener[] = [];
  readonly #resumedSilenceMs: number;

  /**
   * `token`: the server's AUTH_TOKEN (from `--token` or AUTH_TOKEN), sent on every request as
   * `Authorization: Bearer <token>`; without it a server that has one answers 401 unauthorized.
   */
  constructor(target: string, options: StreamableHttpAdapterOptions = {}) {
    // One keep-alive pool for every call. A reply read to its end leaves the connection reusable;
    // an aborted one closes it (the server then waits its resume grace; the Stop is POST …/cancel).
    // https://: HTTP/2 when ALPN offers it (httpPool; replies multiplex on one connection). A
    // streamed reply may pause between chunks up to IDLE_TIMEOUT_MS.
    const { agent, api } = httpPool(target, { ...options, timeouts: { bodyTimeout: IDLE_TIMEOUT_MS } });
    // The session routes (health, stats, sessions, history) come from HttpClientAdapter over this pool.
    // With --trace, undici's diagnostics channels show each request and every chunk as it arrives.
    super(api, options.trace);
    this.#agent = agent;
    this.#resumedSilenceMs = options.resumedSilenceMs ?? RESUMED_SILENCE_MS;
    this.docsUrl = `${this.target}/docs`;
    this.demoUrl = `${this.target}/demo`;
  }

  onNotice(listener: NoticeListener): void {
    this.#noticeListeners.push(listener);
  }

  /**
   * The chat call: POST, then yield each line of the answer as it arrives. A connection lost
   * mid-reply is resumed (resumableReply in @gtp/core/cli): GET the rest of the reply after the
   * last `seq` read, with backoff, live to its end; the shell shows one dim line about it.
   */
  send(sessionId: string, text: string, options: SendOptions = {}): AsyncGenerator<ChatEvent, void> {
    const { signal } = options;
    const session = encodeURIComponent(sessionId);
    // The Stop: 204 once the reply has stopped (202: another instance was told to stop it).
    const stop = () => this.api.json('POST', `/sessions/${session}/cancel`);
    return resumableReply({
      first: this.#stream('POST', `/sessions/${session}/messages`, signal, stop, JSON.stringify({ text })),
      resume: (messageId, after, resumeSignal) =>
        this.#stream(
          'GET',
          `/sessions/${session}/replies/${encodeURIComponent(messageId)}?after=${after}`,
          resumeSignal,
          stop,
        ),
      history: () => this.api.history(sessionId),
      // The reply ended while we were away and the log's bound passed: its final event, if the
      // log's newest is still ours (one more GET after newest - 1; no Stop on it, nothing runs).
      finalFromLog: (messageId, after) =>
        this.#finalFromLog(`/sessions/${session}/replies/${encodeURIComponent(messageId)}?after=${after}`),
      // A lost connection (or a server that answers the resume with 503 while it comes back):
      // worth another try. A refusal with a reason (404, 401…) is not, nor a silent resume.
      dropped: (error) =>
        error instanceof ChatError && error.code === 'unavailable' && !(error instanceof ResumedSilence),
      notice: (notice) => {
        for (const listener of this.#noticeListeners) listener(notice, { dim: true });
      },
      signal,
    });
  }

  /** The first final event (done, error) of one GET; undefined on a reset, a failure or a slow answer. */
  async #finalFromLog(path: string): Promise<LoggedEvent | undefined> {
    try {
      for await (const item of this.#read('GET', path, AbortSignal.timeout(FINAL_FROM_LOG_TIMEOUT_MS))) {
        if ('reset' in item) return undefined;
        if (item.event.type === 'done' || item.event.type === 'error') return item;
      }
    } catch {
      // unreachable, refused, timed out: the history gives the end
    }
    return undefined;
  }

  /** One NDJSON answer (the POST, or a resume's GET), line by line, each with its `seq`. */
  async *#stream(
    method: 'POST' | 'GET',
    path: string,
    signal: AbortSignal | undefined,
    stop: () => Promise<unknown>,
    body?: string,
  ): AsyncGenerator<LoggedEvent> {
    // Ctrl+C: the cancel first, then undici aborts the request; the generator ends once the
    // server has answered the cancel (so the next send does not find the session busy).
    let stopping: Promise<unknown> | undefined;
    const onAbort = () => {
      stopping = stop().catch(() => undefined);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      yield* this.#read(method, path, signal, body);
    } catch (error) {
      if (signal?.aborted) await stopping;
      throw error;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  async *#read(
    method: 'POST' | 'GET',
    path: string,
    signal: AbortSignal | undefined,
    body?: string,
  ): AsyncGenerator<LoggedEvent> {
    let response: Awaited<ReturnType<typeof request>>;
    try {
      response = await request(`${this.target}${path}`, {
        method,
        headers: {
          ...this.api.headers,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          accept: 'application/x-ndjson',
        },
        body,
        dispatcher: this.#agent,
        // A resume's GET: silent this long, the reply is given up (the POST waits IDLE_TIMEOUT_MS).
        ...(method === 'GET' ? { bodyTimeout: this.#resumedSilenceMs } : {}),
        signal,
      });
    } catch (error) {
      if (signal?.aborted) throw error;
      throw connectionError(this.target, error);
    }

    // Refused before the stream started (404, 400, 409, 413…): a JSON error body, history untouched.
    if (response.statusCode !== 200) {
      const text = await response.body.text();
      this.api.countBytes(Buffer.byteLength(text));
      throw errorFromBody(response.statusCode, text);
    }
    const contentType = String(response.headers['content-type'] ?? '');
    if (!contentType.startsWith('application/x-ndjson')) {
      await response.body.dump();
      throw new ChatError('internal', `expected application/x-ndjson, got "${contentType}"`);
    }

    try {
      // undici's body is an async iterable of Buffers, each handed over the moment it arrives.
      // If our consumer stops early (break/return), the body is destroyed and undici closes the
      // connection: the server keeps the reply for its resume grace, then cancels it.
      //
      // The final event (`done` or `error`) is held until the body has ended. The server ends the
      // response in the same write as that last line, so this costs nothing; but a consumer that
      // stops at `done` (as most do) would otherwise destroy a body whose end it had not read yet,
      // which throws away the keep-alive connection and makes the next message pay a new one.
      let final: LoggedEvent | undefined;
      for await (const line of readNdjson(response.body, (bytes) => this.api.countBytes(bytes))) {
        const logged = loggedEvent(line);
        if ('event' in logged && (logged.event.type === 'done' || logged.event.type === 'error'))
          final = logged;
        else yield logged;
      }
      if (final) yield final;
    } catch (error) {
      // Ctrl+C: undici aborted the body; the shell prints "[cancelled]".
      if (signal?.aborted || error instanceof ChatError) throw error;
      if (method === 'GET' && (error as { code?: unknown }).code === 'UND_ERR_BODY_TIMEOUT') {
        throw new ResumedSilence(
          'unavailable',
          `the reply resumed but sent nothing more for ${this.#resumedSilenceMs / 1000} s; /history shows what the server stored`,
          { cause: error },
        );
      }
      throw new ChatError('unavailable', `the connection was lost mid-reply: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  async close(): Promise<void> {
    this.untrace();
    await this.#agent.close();
  }
}

if (isMain(import.meta.url))
  runClient('streamable-http', (target, options) => new StreamableHttpAdapter(target, options));
