/**
 * WebSocket client of genai-transports: the terminal side of a shared live session.
 *
 * What it teaches:
 * - one long-lived `ws` connection carrying requests (join, send, cancel, typing, ping) and
 *   everything the server pushes (the reply stream, other members' messages, typing, presence);
 * - telling your own reply from another member's (`start.connectionId`), and matching answers to
 *   requests on a connection where frames of both directions interleave;
 * - reconnecting with exponential backoff and rejoining the same session with `join {after}`, the
 *   newest reply `seq` it saw: a reply cut mid-way goes on where it stopped (what it missed first,
 *   then live), and the shell prints one dim "resumed" line; a `reset` frame (the log no longer
 *   holds that point) is handled by resumableReply from @gtp/core/cli: the text missed comes from
 *   the history; a reply that ended while we were away (the reset, then nothing: the history
 *   says no turn runs) ends with its stored text; a rejoined reply silent for RESUMED_SILENCE_MS
 *   ends with an error, so the prompt always comes back;
 * - noticing a dead server: no protocol ping within two heartbeat intervals → terminate, reconnect;
 * - cancelling with a `cancel` frame (Ctrl+C), and `/ping` for the application-level round trip;
 * - the token (AUTH_TOKEN): Node's `ws` can set headers on the handshake, so it sends
 *   `Authorization: Bearer`, like every HTTP call; a browser cannot (see demo.html).
 * The session routes (create, list, history…) are plain HTTP on the same port (HttpApi).
 *
 * Run it:  pnpm client websocket [--url http://127.0.0.1:8004] [--session <id>] [--token <AUTH_TOKEN>]
 *          [--trace] (start `pnpm serve websocket` first; run a second client with the same --session)
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { AsyncQueue, ChatError, type ChatEvent, isMain, type Session } from '@gtp/core';
import {
  type AdapterOptions,
  connectionError,
  type ExtraCommand,
  errorFromBody,
  HttpApi,
  HttpClientAdapter,
  type LoggedEvent,
  type NoticeListener,
  type NoticeOptions,
  printable,
  RESUME_GIVE_UP_MS,
  RESUMED_SILENCE_MS,
  resumableReply,
  resumedNotice,
  runClient,
  type SendOptions,
} from '@gtp/core/cli';
import { Agent } from 'undici';
import WebSocket, { type RawData } from 'ws';

import type { ClientFrame, ServerFrame } from './src/protocol.ts';
import { WS_PATH, WS_SUBPROTOCOL } from './src/protocol.ts';

const RECONNECT_BASE_MS = 250;
const RECONNECT_MAX_MS = 8_000;
/** How long `close()` waits for the closing handshake before dropping the socket. */
const CLOSE_WAIT_MS = 1_000;
/**
 * After a rejoin's `reset` that replays nothing, how often the history is asked whether the reply
 * is still running (nothing more comes on the socket for a reply that ended meanwhile).
 */
const OVER_POLL_MS = 500;
/** The key of the one "reconnecting" status line the shell updates in place. */
const RECONNECT_NOTICE: NoticeOptions = { key: 'ws-reconnect' };
/** RFC 6455 opcodes, for the trace. */
const OPCODE = { text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa } as const;

/**
 * The bytes one unfragmented frame takes on the wire (RFC 6455 §5.2): 2 header bytes, 2 or 8
 * more for a payload of 126 bytes or more, 4 for the mask (client → server frames are masked).
 * Exact here because neither side negotiates permessage-deflate.
 */
export function frameBytes(payloadBytes: number, masked: boolean): number {
  const extended = payloadBytes < 126 ? 0 : payloadBytes < 65_536 ? 2 : 8;
  return 2 + extended + (masked ? 4 : 0) + payloadBytes;
}

export interface WebSocketAdapterOptions extends AdapterOptions {
  /** Override RESUMED_SILENCE_MS (tests). */
  resumedSilenceMs?: number;
}

/** Something waiting for frames: returns true when it consumed the frame. */
interface Subscriber {
  frame(frame: ServerFrame): boolean;
  closed(reason: string): void;
  /** The socket came back and rejoined the session with `after` (a reconnect); true: a reply resumed. */
  rejoined?(after: number | undefined): boolean;
  /** The socket came back but the session cannot be rejoined (deleted, or the server restarted). */
  gone?(error: ChatError): void;
}

export class WebSocketAdapter extends HttpClientAdapter {
  readonly protocol = 'websocket' as const;
  readonly docsUrl: string;
  readonly demoUrl: string;
  readonly commands: readonly ExtraCommand[];
  readonly #wsUrl: string;
  readonly #noticeListeners = new Set<NoticeListener>();
  readonly #subscribers = new Set<Subscriber>();
  /** Text of replies other members started, by messageId, printed when they are done. */
  readonly #othersReplies = new Map<string, string>();
  /** The reply another member started last: the deltas that follow are its text. */
  #othersInFlight = '';
  #socket: WebSocket | undefined;
  #opening: Promise<WebSocket> | undefined;
  #joining: Promise<Session> | undefined;
  /** The session to be in (rejoined after a reconnect) and the one this socket has joined. */
  #sessionId: string | undefined;
  #joinedSessionId: string | undefined;
  #connectionId: string | undefined;
  #heartbeatMs: number | undefined;
  #deadPeerTimer: NodeJS.Timeout | undefined;
  #reconnectTimer: NodeJS.Timeout | undefined;
  #attempt = 0;
  /** The attempts the last reconnect took (for the "resumed" line). */
  #reconnectAttempts = 0;
  #connectedOnce = false;
  #reconnects = 0;
  #closed = false;
  readonly #ca: Buffer | undefined;
  readonly #resumedSilenceMs: number;
  /** The newest reply seq seen in #seqSessionId: a reconnect's `join {after}`. */
  #lastSeq: number | undefined;
  #seqSessionId: string | undefined;
  /** A reply of ours waits on a lost connection: the reconnect status lines stay quiet. */
  #replyWaiting = 0;
  /** The last rejoin resumed a reply of ours. */
  #rejoinResumed = false;

  /** `target` is the server's HTTP base URL, e.g. http://127.0.0.1:8004; `token` its AUTH_TOKEN. */
  constructor(target: string, options: WebSocketAdapterOptions = {}) {
    const headers: Record<string, string> = options.token ? { authorization: `Bearer ${options.token}` } : {};
    // The session routes (health, stats, sessions, history) come from HttpClientAdapter; with
    // --trace their requests are traced through undici, and the socket's upgrade and frames here.
    // An https:// server's CA (--ca, TLS_CA_FILE): trusted by undici's pool and by the socket.
    // https://: the session routes over HTTP/2 when ALPN offers it (the socket is HTTP/1.1's upgrade).
    const dispatcher = target.startsWith('https:')
      ? new Agent({ connect: { ca: options.ca }, allowH2: true })
      : undefined;
    super(
      new HttpApi({ baseUrl: target.replace(/\/+$/, ''), headers, ...(dispatcher ? { dispatcher } : {}) }),
      options.trace,
    );
    this.#ca = options.ca;
    this.#resumedSilenceMs = options.resumedSilenceMs ?? RESUMED_SILENCE_MS;
    const url = new URL(WS_PATH, this.target);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    this.#wsUrl = url.href;
    this.docsUrl = `${this.target}/docs`;
    this.demoUrl = `${this.target}/demo`;
    this.commands = [
      {
        name: 'ping',
        description: 'application-level round trip over the WebSocket (ping → pong)',
        run: async () => `pong in ${(await this.ping()).toFixed(2)} ms over ${this.#wsUrl}`,
      },
      {
        name: 'reconnect',
        description: 'drop the connection, open a new one and rejoin the session',
        run: async () => {
          const startedAt = performance.now();
          await this.reconnect();
          const ms = (performance.now() - startedAt).toFixed(1);
          return `reconnected in ${ms} ms${this.#joinedSessionId ? `; rejoined session ${this.#joinedSessionId}` : ''}`;
        },
      },
    ];
  }

  reconnects(): number {
    return this.#reconnects;
  }
  onNotice(listener: NoticeListener): void {
    this.#noticeListeners.add(listener);
  }

  // --- The chat, over the socket ----------------------------------------------------------------

  /** Join the session (the shell calls this for /new, /switch, --session). */
  async useSession(sessionId: string): Promise<void> {
    this.#sessionId = sessionId;
    await this.#ready();
  }

  /**
   * Send a message; yield this member's reply. Other members see the same stream (and our text as
   * a `message` frame). Aborting the signal sends `cancel`; the server answers with `done` (cancelled).
   */
  async *send(sessionId: string, text: string, options: SendOptions = {}): AsyncGenerator<ChatEvent, void> {
    const { signal } = options;
    this.#sessionId = sessionId;
    const socket = await this.#ready(signal);
    // The reply as logged events (each frame has its seq; a `reset` too), read by resumableReply:
    // it drops what a rejoin replays and fills a gap a reset leaves from the history.
    const events = new AsyncQueue<LoggedEvent>();
    let messageId: string | undefined;
    /** The reply of the last `start` seen: a delta (text and seq only) belongs to it. */
    let inFlight: string | undefined;
    /** Set while the connection is down mid-reply: when it went, the last seq we had. */
    let lost: { at: number; after: number | undefined; timer: NodeJS.Timeout } | undefined;
    /** Once rejoined: a reply that sends nothing for RESUMED_SILENCE_MS is given up (never a hang). */
    let silence: NodeJS.Timeout | undefined;
    const armSilence = () => {
      clearTimeout(silence);
      silence = setTimeout(
        () =>
          events.fail(
            new ChatError(
              'unavailable',
              `the reply resumed but sent nothing more for ${this.#resumedSilenceMs / 1000} s; /history shows what the server stored`,
            ),
          ),
        this.#resumedSilenceMs,
      );
    };
    /**
     * A rejoin's `reset` replayed nothing, and nothing of the reply came since: if it ended while
     * we were away, nothing more will come. Ask the history until it says so (then end the
     * stream: resumableReply takes the text and the end from the history) or the reply goes on.
     */
    let resetWaiting = false;
    let finished = false;
    const endIfOver = async () => {
      resetWaiting = true;
      while (resetWaiting && !finished) {
        let over = false;
        try {
          over = (await this.api.history(sessionId)).at(-1)?.role !== 'user';
        } catch {
          // unreachable for now: ask again (the silence bound still applies)
        }
        if (!resetWaiting || finished) return;
        if (over) {
          events.end();
          return;
        }
        await sleep(OVER_POLL_MS);
      }
    };
    const unsubscribe = this.#subscribe({
      frame: (frame) => {
        if (messageId === undefined) {
          // The server answers our `send` with a `start` naming our connection, or an `error`.
          if (frame.type === 'start' && frame.connectionId === this.#connectionId) {
            messageId = frame.messageId;
            inFlight = messageId;
            events.push({
              seq: frame.seq,
              event: { type: 'start', sessionId: frame.sessionId, messageId: frame.messageId },
            });
            return true;
          }
          if (frame.type === 'error' && frame.messageId === undefined) {
            events.push({ seq: 0, event: frame });
            events.end();
            return true;
          }
          return false;
        }
        if (frame.type === 'reset') {
          events.push({ seq: frame.seq, reset: { reason: frame.reason, replaying: frame.replaying } });
          if (silence) armSilence();
          if (frame.replaying) resetWaiting = false;
          else void endIfOver();
          return true;
        }
        if (frame.type === 'start') inFlight = frame.messageId;
        if (
          frame.type === 'delta'
            ? inFlight === messageId
            : (frame.type === 'start' || frame.type === 'done' || frame.type === 'error') &&
              frame.messageId === messageId
        ) {
          const { seq, ...event } = frame as typeof frame & { seq: number };
          resetWaiting = false;
          if (silence) armSilence();
          events.push({ seq, event: event as ChatEvent });
          if (frame.type === 'done' || frame.type === 'error') events.end();
          return true;
        }
        return false;
      },
      closed: (reason) => {
        if (signal?.aborted) events.end();
        else if (messageId === undefined)
          // Whether the server took the `send` is unknown: nothing to resume.
          events.fail(
            new ChatError('unavailable', `connection lost during the reply (${reason}); reconnecting`),
          );
        else if (!lost) {
          // Resume: the adapter reconnects by itself and rejoins with `after`; the server sends
          // what we missed, then the rest live, to this same subscriber.
          this.#replyWaiting += 1;
          const timer = setTimeout(
            () =>
              events.fail(
                new ChatError(
                  'unavailable',
                  `the connection was lost mid-reply (${reason}) and did not come back within ${RESUME_GIVE_UP_MS / 1000} s; /history shows what the server stored`,
                ),
              ),
            RESUME_GIVE_UP_MS,
          );
          lost = { at: performance.now(), after: this.#lastSeq, timer };
        }
      },
      rejoined: (after) => {
        if (!lost) return false;
        clearTimeout(lost.timer);
        this.#replyWaiting -= 1;
        this.#notice(resumedNotice(after ?? 0, this.#reconnectAttempts, performance.now() - lost.at), {
          dim: true,
        });
        lost = undefined;
        armSilence();
        return true;
      },
      // A reply whose session is gone cannot come back: end it now, not after RESUME_GIVE_UP_MS.
      gone: (error) => {
        if (!lost) return;
        events.fail(
          new ChatError(
            error.code,
            `the connection was lost mid-reply and the session is gone on the server (${error.message}): it restarted or the session was deleted; /new starts a new one`,
          ),
        );
      },
    });
    const onAbort = () => {
      const open = this.#socket;
      if (open?.readyState === WebSocket.OPEN && this.#joinedSessionId === sessionId)
        this.#write(open, { type: 'cancel' });
      else events.end();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      this.#write(socket, { type: 'send', text });
      yield* resumableReply({
        first: events,
        // The socket resumes in place (join {after}), never through a second call.
        resume: () => {
          throw new ChatError('internal', 'the WebSocket reply resumes on its rejoined socket');
        },
        history: () => this.api.history(sessionId),
        dropped: () => false,
        notice: (notice) => this.#notice(notice, { dim: true }),
        signal,
      });
    } finally {
      finished = true;
      clearTimeout(silence);
      if (lost) {
        clearTimeout(lost.timer);
        this.#replyWaiting -= 1;
      }
      unsubscribe();
      signal?.removeEventListener('abort', onAbort);
    }
  }

  typing(active: boolean): void {
    const socket = this.#socket;
    if (socket?.readyState === WebSocket.OPEN && this.#joinedSessionId)
      this.#write(socket, { type: 'typing', active });
  }

  /** Application-level ping: resolves to the round trip in milliseconds. */
  async ping(signal?: AbortSignal): Promise<number> {
    const socket = await this.#ready(signal);
    const ts = performance.now();
    await this.#request(socket, { type: 'ping', ts }, (f) => f.type === 'pong' && f.ts === ts, signal);
    return performance.now() - ts;
  }

  /** Drop the connection and open a new one, rejoining the session. */
  async reconnect(): Promise<void> {
    const old = this.#socket;
    if (old) {
      this.#detach(old, 'reconnect requested');
      await closeSocket(old, 'reconnect requested'); // so the server sees us leave before we rejoin
    }
    await this.#ready();
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#reconnectTimer);
    const socket = this.#socket;
    if (!socket) return;
    this.#detach(socket, 'client closed');
    await closeSocket(socket, 'client closed');
    this.untrace();
  }

  // --- Connection management --------------------------------------------------------------------

  /** An open socket that has joined the current session (connecting and joining as needed). */
  async #ready(signal?: AbortSignal): Promise<WebSocket> {
    if (this.#closed) throw new ChatError('unavailable', 'the client is closed');
    const socket = await abortable(this.#connect(), signal);
    const sessionId = this.#sessionId;
    if (sessionId && this.#joinedSessionId !== sessionId)
      await abortable(this.#join(socket, sessionId), signal);
    return socket;
  }

  #connect(): Promise<WebSocket> {
    if (!this.#opening) {
      const opening = this.#open();
      this.#opening = opening;
      opening.catch(() => {
        if (this.#opening === opening) this.#opening = undefined;
      });
    }
    return this.#opening;
  }

  #open(): Promise<WebSocket> {
    return new Promise((resolve, reject) => {
      // Offer the subprotocol (the server answers with it), and the token as a handshake header.
      const socket = new WebSocket(this.#wsUrl, [WS_SUBPROTOCOL], {
        headers: this.api.headers,
        // wss://: the CA of the server's certificate, when it is not one the system trusts.
        ...(this.#ca ? { ca: this.#ca } : {}),
        // The server does not compress; saying so keeps every frame's size what --trace shows.
        perMessageDeflate: false,
        // The handshake request as written: the trace shows its request line and headers.
        finishRequest: (request) => {
          request.end();
          const header = (request as unknown as { _header?: string })._header ?? '';
          const lines = header.split('\r\n').filter(Boolean);
          this.trace?.sent(Buffer.byteLength(header), lines[0] ?? `GET ${WS_PATH}`, lines.slice(1));
        },
      });
      this.#socket = socket;
      let opened = false;
      socket.on('upgrade', (response) => {
        const lines = [];
        for (let i = 0; i + 1 < response.rawHeaders.length; i += 2)
          lines.push(`${response.rawHeaders[i]}: ${response.rawHeaders[i + 1]}`);
        const status = `HTTP/${response.httpVersion} ${response.statusCode} ${response.statusMessage}`;
        const bytes = lines.reduce((sum, l) => sum + Buffer.byteLength(l) + 2, Buffer.byteLength(status) + 4);
        this.trace?.received(bytes, status, lines);
      });
      socket.on('message', (data, isBinary) => this.#onMessage(data, isBinary));
      // The server pings every heartbeatMs: silence for two intervals means the peer is gone.
      // (`ws` answers each ping with a pong by itself.)
      socket.on('ping', (data) => {
        this.trace?.received(
          frameBytes(data.length, false),
          `frame ping (opcode 0x9) ${data.length} B payload`,
        );
        this.trace?.sent(
          frameBytes(data.length, true),
          `frame pong (opcode 0xa, masked) ${data.length} B payload`,
        );
        this.#armDeadPeerTimer(socket);
      });
      // A refused handshake (401, 403…) is an HTTP response: read its error body and say why.
      socket.once('unexpected-response', (_request, response) => {
        this.trace?.received(
          0,
          `HTTP/${response.httpVersion} ${response.statusCode} ${response.statusMessage}`,
        );
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          body += chunk;
        });
        response.on('end', () => {
          reject(refusal(response.statusCode ?? 0, body));
          socket.terminate();
        });
      });
      socket.on('error', (error) => {
        if (socket.readyState === WebSocket.CONNECTING) reject(connectionError(this.target, error));
      });
      socket.once('open', () => {
        this.trace?.note(`WebSocket open: ${this.#wsUrl}, subprotocol ${socket.protocol || '(none)'}`);
        clearTimeout(this.#reconnectTimer);
        if (this.#connectedOnce) this.#reconnects += 1;
        this.#connectedOnce = true;
        this.#attempt = 0;
        opened = true;
        resolve(socket);
      });
      socket.on('close', (code, reason) => {
        this.trace?.note(`WebSocket closed: ${code}${reason.length ? ` ${reason.toString()}` : ''}`);
        reject(new ChatError('unavailable', `cannot reach ${this.#wsUrl} (close ${code})`));
        if (socket !== this.#socket) return; // already detached (reconnect, close)
        const why = `${code}${reason.length ? ` ${reason.toString()}` : ''}`;
        this.#detach(socket, why);
        // A connection that never opened was a failed attempt: whoever opened it retries.
        if (!this.#closed && opened) this.#scheduleReconnect(`connection closed (${why})`);
      });
    });
  }

  /** Forget a socket: pending requests fail, a reply in flight ends, state is reset. */
  #detach(socket: WebSocket, reason: string): void {
    if (socket !== this.#socket) return;
    this.#socket = undefined;
    this.#opening = undefined;
    this.#joining = undefined;
    this.#joinedSessionId = undefined;
    this.#connectionId = undefined;
    clearTimeout(this.#deadPeerTimer);
    this.#othersReplies.clear();
    for (const subscriber of [...this.#subscribers]) subscriber.closed(reason);
  }

  #scheduleReconnect(reason: string): void {
    const delay = Math.round(
      Math.min(RECONNECT_MAX_MS, RECONNECT_BASE_MS * 2 ** this.#attempt) * (0.5 + Math.random() / 2),
    );
    this.#attempt += 1;
    this.#reconnectAttempts = this.#attempt;
    // One status line, updated per attempt (the shell rewrites it in place), not one per attempt;
    // none while a reply of ours waits to resume (it says so itself, in one line, when it does).
    if (!this.#replyWaiting)
      this.#notice(`${reason}; reconnecting in ${delay} ms (attempt ${this.#attempt})…`, RECONNECT_NOTICE);
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = setTimeout(() => {
      this.#ready().then(
        () => {
          // A resumed reply said so in its own line already.
          if (!this.#replyWaiting && !this.#rejoinResumed)
            this.#notice(
              `reconnected${this.#joinedSessionId ? `; rejoined session ${this.#joinedSessionId}` : ''}`,
              RECONNECT_NOTICE,
            );
        },
        (error: unknown) => {
          if (this.#closed) return;
          // A session deleted meanwhile cannot be rejoined: stay connected, say so.
          if (error instanceof ChatError && error.code === 'session_not_found') {
            this.#notice(
              `reconnected, but ${error.message}: the server restarted or it was deleted; /new starts a new one`,
              RECONNECT_NOTICE,
            );
            this.#sessionId = undefined;
            for (const subscriber of [...this.#subscribers]) subscriber.gone?.(error);
            return;
          }
          this.#scheduleReconnect(
            `reconnect failed (${error instanceof Error ? error.message : String(error)})`,
          );
        },
      );
    }, delay);
  }

  #armDeadPeerTimer(socket: WebSocket): void {
    clearTimeout(this.#deadPeerTimer);
    if (this.#heartbeatMs === undefined) return;
    this.#deadPeerTimer = setTimeout(() => socket.terminate(), this.#heartbeatMs * 2);
  }

  #join(socket: WebSocket, sessionId: string): Promise<Session> {
    const adopt = (frame: ServerFrame): boolean => {
      if (frame.type !== 'joined' || frame.session.id !== sessionId) return false;
      // Synchronously: the `presence` frame that follows in the same read must already know who we are.
      this.#joinedSessionId = frame.session.id;
      this.#connectionId = frame.connectionId;
      this.#heartbeatMs = frame.heartbeatMs;
      this.#armDeadPeerTimer(socket);
      return true;
    };
    // Back in a session we were in: `after` the newest reply seq we saw, so the server sends what
    // we missed (and the rest of a reply in flight), nothing twice. A first join has none.
    const after = this.#seqSessionId === sessionId ? this.#lastSeq : undefined;
    if (this.#seqSessionId !== sessionId) {
      this.#seqSessionId = sessionId;
      this.#lastSeq = undefined;
    }
    const join: ClientFrame =
      after === undefined ? { type: 'join', sessionId } : { type: 'join', sessionId, after };
    this.#joining ??= this.#request(socket, join, adopt).then(
      (frame) => {
        this.#joining = undefined;
        if (frame.type !== 'joined') throw new ChatError('internal', 'unexpected answer to join');
        this.#rejoinResumed = false;
        if (after !== undefined)
          for (const subscriber of [...this.#subscribers])
            if (subscriber.rejoined?.(after)) this.#rejoinResumed = true;
        return frame.session;
      },
      (error: unknown) => {
        this.#joining = undefined;
        throw error;
      },
    );
    return this.#joining;
  }

  /**
   * Send a frame and wait for its answer: the first frame `matches` accepts, or an `error` frame
   * without a messageId (the server handles one connection's frames in order).
   */
  #request(
    socket: WebSocket,
    frame: ClientFrame,
    matches: (frame: ServerFrame) => boolean,
    signal?: AbortSignal,
  ): Promise<ServerFrame> {
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        unsubscribe();
        reject(signal?.reason);
      };
      const unsubscribe = this.#subscribe({
        frame: (f) => {
          if (f.type === 'error' && f.messageId === undefined) {
            reject(new ChatError(f.error.code, f.error.message));
          } else if (matches(f)) resolve(f);
          else return false;
          unsubscribe();
          signal?.removeEventListener('abort', onAbort);
          return true;
        },
        closed: (reason) => {
          unsubscribe();
          signal?.removeEventListener('abort', onAbort);
          reject(new ChatError('unavailable', `connection closed (${reason})`));
        },
      });
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#write(socket, frame);
    });
  }

  #subscribe(subscriber: Subscriber): () => void {
    this.#subscribers.add(subscriber);
    return () => this.#subscribers.delete(subscriber);
  }

  #write(socket: WebSocket, frame: ClientFrame): void {
    if (socket.readyState !== WebSocket.OPEN)
      throw new ChatError('unavailable', 'the connection is not open');
    const text = JSON.stringify(frame);
    const payloadBytes = Buffer.byteLength(text);
    this.trace?.sent(
      frameBytes(payloadBytes, true),
      `frame text (opcode 0x${OPCODE.text.toString(16)}, FIN, masked) ${payloadBytes} B payload`,
      [printable(text)],
    );
    socket.send(text);
  }

  #onMessage(data: RawData, isBinary: boolean): void {
    const bytes = Array.isArray(data)
      ? Buffer.concat(data)
      : Buffer.isBuffer(data)
        ? data
        : Buffer.from(data);
    this.api.countBytes(bytes.length);
    const opcode = isBinary ? OPCODE.binary : OPCODE.text;
    this.trace?.received(
      frameBytes(bytes.length, false),
      `frame ${isBinary ? 'binary' : 'text'} (opcode 0x${opcode.toString(16)}, FIN) ${bytes.length} B payload`,
      [isBinary ? bytes.toString('hex') : printable(bytes.toString('utf8'))],
    );
    if (isBinary) return;
    let frame: ServerFrame;
    try {
      frame = JSON.parse(bytes.toString('utf8')) as ServerFrame;
    } catch {
      this.#notice('the server sent a frame that is not JSON; ignored');
      return;
    }
    const seq = (frame as { seq?: unknown }).seq;
    if (typeof seq === 'number' && this.#joinedSessionId === this.#seqSessionId)
      this.#lastSeq = Math.max(this.#lastSeq ?? 0, seq);
    for (const subscriber of this.#subscribers) {
      if (subscriber.frame(frame)) return;
    }
    this.#onUnrequested(frame);
  }

  /** Frames nobody waited for: what the other members do, shown as notices. */
  #onUnrequested(frame: ServerFrame): void {
    const member = (id: string) => `member ${id.slice(0, 8)}`;
    switch (frame.type) {
      case 'presence':
        if (frame.connectionId !== this.#connectionId) {
          this.#notice(
            `${member(frame.connectionId)} ${frame.change} (${frame.connections} in this session)`,
          );
        } else if (frame.connections > 1) this.#notice(`${frame.connections} members in this session`);
        return;
      case 'message':
        this.#notice(`${member(frame.connectionId)} › ${frame.text}`);
        return;
      case 'typing':
        if (frame.active) this.#notice(`${member(frame.connectionId)} is typing…`);
        return;
      case 'start':
        this.#othersReplies.set(frame.messageId, '');
        this.#othersInFlight = frame.messageId;
        return;
      case 'delta': {
        const sofar = this.#othersReplies.get(this.#othersInFlight);
        if (sofar !== undefined) this.#othersReplies.set(this.#othersInFlight, sofar + frame.text);
        return;
      }
      case 'done': {
        const text = this.#othersReplies.get(frame.messageId) ?? '';
        this.#othersReplies.delete(frame.messageId);
        const note = frame.finishReason === 'stop' ? '' : ` [${frame.finishReason}]`;
        this.#notice(`model › ${text}${note}`);
        return;
      }
      case 'error':
        if (frame.messageId) this.#othersReplies.delete(frame.messageId);
        this.#notice(`error [${frame.error.code}]: ${frame.error.message}`);
        return;
      case 'joined':
      case 'pong':
        return;
    }
  }

  #notice(text: string, options?: NoticeOptions): void {
    for (const listener of this.#noticeListeners) listener(text, options);
  }
}

/** Close with 1000 and wait for the handshake; a server that does not answer is dropped. */
async function closeSocket(socket: WebSocket, reason: string): Promise<void> {
  if (socket.readyState === WebSocket.CLOSED) return;
  const closed = new Promise((resolve) => socket.once('close', resolve));
  socket.close(1000, reason);
  const timer = setTimeout(() => socket.terminate(), CLOSE_WAIT_MS);
  await closed;
  clearTimeout(timer);
}

/** Reject when the signal aborts, without waiting for the promise. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  signal.throwIfAborted();
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** The ChatError of a refused upgrade, from its `{error:{code,message}}` body when there is one. */
function refusal(status: number, body: string): ChatError {
  const error = errorFromBody(status, body);
  return new ChatError(error.code, `the WebSocket upgrade was refused (${status}): ${error.message}`);
}

if (isMain(import.meta.url)) {
  runClient('websocket', (target, options) => new WebSocketAdapter(target, options));
}
