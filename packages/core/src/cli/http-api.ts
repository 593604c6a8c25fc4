import { Agent, type Dispatcher, request } from 'undici';
import type { SessionListPage } from '../chat-service.ts';
import { ChatError, ERROR_HTTP_STATUS, type ErrorCode } from '../errors.ts';
import type { Message, Session } from '../events.ts';
import type { StatsSnapshot } from '../stats.ts';
import { allSessions } from './session-pages.ts';
import type { Health } from './types.ts';

export interface HttpApiOptions {
  /** `http://127.0.0.1:8001` */
  baseUrl: string;
  /** undici dispatcher (an Agent with keep-alive by default, the global one). */
  dispatcher?: Dispatcher;
  headers?: Record<string, string>;
}

export interface HttpPoolOptions {
  /** The server's AUTH_TOKEN: every request carries `Authorization: Bearer <token>`. */
  token?: string;
  /** The CA of an https:// server's certificate (`--ca`, TLS_CA_FILE), besides the system's. */
  ca?: Buffer;
  /** undici's timeouts for this pool, when its defaults are not what the protocol means. */
  timeouts?: Pick<Agent.Options, 'headersTimeout' | 'bodyTimeout'>;
}

/**
 * An HTTP client's connections and session routes: one keep-alive undici Agent for every call (a
 * turn costs a round trip, not a new handshake; https://: HTTP/2 when ALPN offers it, as a browser;
 * http://: HTTP/1.1, there is no cleartext h2), and the HttpApi over it with the bearer token.
 * The adapter passes `api` to HttpClientAdapter and sends its own chat call through `agent`.
 */
export function httpPool(target: string, options: HttpPoolOptions = {}): { agent: Agent; api: HttpApi } {
  const agent = new Agent({
    ...options.timeouts,
    connect: { ca: options.ca },
    allowH2: target.startsWith('https:'),
  });
  const headers: Record<string, string> = options.token ? { authorization: `Bearer ${options.token}` } : {};
  return { agent, api: new HttpApi({ baseUrl: target, dispatcher: agent, headers }) };
}

/**
 * The shared HTTP routes (health, stats, sessions, history) over undici, for the clients of
 * the four HTTP-based servers. Counts the bytes it receives; turns error bodies into ChatError.
 */
export class HttpApi {
  readonly baseUrl: string;
  readonly #dispatcher: Dispatcher | undefined;
  readonly #headers: Record<string, string>;
  #bytesReceived = 0;

  constructor(options: HttpApiOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.#dispatcher = options.dispatcher;
    this.#headers = options.headers ?? {};
  }

  get bytesReceived(): number {
    return this.#bytesReceived;
  }

  /** Count bytes that arrived outside `json()` (a streamed body). */
  countBytes(bytes: number): void {
    this.#bytesReceived += bytes;
  }

  /** What every request carries (the Authorization header, when there is a token); adapters send
   *  the same on their own chat calls and handshakes. */
  get headers(): Record<string, string> {
    return this.#headers;
  }

  /** A JSON request; a non-2xx answer throws its ChatError. */
  async json<T>(
    method: Dispatcher.HttpMethod,
    path: string,
    body?: unknown,
    signal?: AbortSignal,
  ): Promise<T> {
    const response = await request(`${this.baseUrl}${path}`, {
      method,
      headers: {
        ...this.#headers,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      ...(this.#dispatcher ? { dispatcher: this.#dispatcher } : {}),
      ...(signal ? { signal } : {}),
    }).catch((error: unknown) => {
      throw connectionError(this.baseUrl, error);
    });
    const text = await response.body.text();
    this.#bytesReceived += Buffer.byteLength(text);
    if (response.statusCode >= 400) throw errorFromBody(response.statusCode, text);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  health(): Promise<Health> {
    return this.json('GET', '/health');
  }
  stats(): Promise<StatsSnapshot> {
    return this.json('GET', '/stats');
  }
  createSession(): Promise<Session> {
    return this.json('POST', '/sessions');
  }
  getSession(id: string): Promise<Session> {
    return this.json('GET', `/sessions/${encodeURIComponent(id)}`);
  }
  /** One page of the caller's sessions (oldest first); `cursor`: the previous page's nextCursor. */
  sessionsPage(cursor?: string): Promise<SessionListPage> {
    return this.json('GET', `/sessions${cursor ? `?cursor=${encodeURIComponent(cursor)}` : ''}`);
  }
  /** Every session of the caller, page after page (at most MAX_SESSION_PAGES of them). */
  listSessions(): Promise<Session[]> {
    return allSessions((cursor) => this.sessionsPage(cursor));
  }
  async deleteSession(id: string): Promise<void> {
    await this.json('DELETE', `/sessions/${encodeURIComponent(id)}`);
  }
  async history(id: string): Promise<Message[]> {
    return (await this.json<{ messages: Message[] }>('GET', `/sessions/${encodeURIComponent(id)}/messages`))
      .messages;
  }
  async clearHistory(id: string): Promise<void> {
    await this.json('DELETE', `/sessions/${encodeURIComponent(id)}/messages`);
  }
}

/** A `{error:{code,message}}` body (or anything else) as a ChatError. */
export function errorFromBody(status: number, text: string): ChatError {
  try {
    const parsed = JSON.parse(text) as { error?: { code?: string; message?: string } };
    if (parsed.error?.code && parsed.error.code in ERROR_HTTP_STATUS) {
      return new ChatError(parsed.error.code as ErrorCode, parsed.error.message ?? `HTTP ${status}`);
    }
  } catch {
    // not JSON: fall through
  }
  const code = (Object.entries(ERROR_HTTP_STATUS).find(([, s]) => s === status)?.[0] ??
    'internal') as ErrorCode;
  return new ChatError(code, `HTTP ${status}: ${text.slice(0, 200)}`);
}

/** The type byte of an HTTP/2 SETTINGS frame, the first frame an HTTP/2 server sends (RFC 9113 §6.5). */
const HTTP2_SETTINGS_FRAME_TYPE = 0x04;

/** ECONNREFUSED and friends as a message that says what to do. */
export function connectionError(target: string, error: unknown): Error {
  if (error instanceof Error && error.name === 'AbortError') return error;
  const code = (error as { code?: string } | undefined)?.code;
  // The connection was open and the server reached: it went away before it answered.
  if (code === 'UND_ERR_SOCKET' || code === 'ECONNRESET' || code === 'EPIPE') {
    return new ChatError(
      'unavailable',
      `the server at ${target} closed the connection before it answered (it was reached; did it stop?)`,
      { cause: error },
    );
  }
  // An HTTP/2-only server (this project's gRPC server) answers an HTTP/1.1 request with its
  // SETTINGS frame: 3 bytes of length, then frame type 0x4. llhttp cannot parse that.
  const data = (error as { data?: unknown } | undefined)?.data;
  if (
    (error as Error | undefined)?.name === 'HTTPParserError' &&
    (Buffer.isBuffer(data) || typeof data === 'string')
  ) {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
    if (bytes[3] === HTTP2_SETTINGS_FRAME_TYPE) {
      const hostPort = target.replace(/^https?:\/\//, '');
      return new ChatError(
        'invalid_request',
        `${target} answered with HTTP/2 frames, not HTTP/1.1: it is a grpc server; use pnpm client grpc --url ${hostPort}`,
        { cause: error },
      );
    }
  }
  if (code === 'ECONNREFUSED') {
    return new ChatError(
      'unavailable',
      `cannot reach ${target}: is the server running? (connection refused)`,
      {
        cause: error,
      },
    );
  }
  const message = error instanceof Error ? error.message : String(error);
  return new ChatError('unavailable', `cannot reach ${target}: ${message}`, { cause: error });
}
