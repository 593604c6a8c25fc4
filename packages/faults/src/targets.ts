/**
 * The table of the five transports the fault suite runs against. Each row knows how to start its
 * real server (the package's own `createServer`) on a free loopback port, and gives a client with
 * the same small interface: sessions, history, stats and health over the wire, and a reply that a
 * test can read, pause (a slow consumer) or abandon abruptly (a client that vanishes).
 */
import type { IncomingMessage } from 'node:http';
import type { ChatServer, ChatService, Config, Message, Protocol } from '@gtp/core';
import { createServer as createGrpc } from '@gtp/grpc/server';
import { createServer as createRest } from '@gtp/rest/server';
import { createServer as createSse } from '@gtp/sse/server';
import { createServer as createStreamableHttp } from '@gtp/streamable-http/server';
import { createServer as createWebSocket } from '@gtp/websocket/server';
import { EventQueue, type FaultEvent } from './events.ts';
import { GrpcClient } from './grpc.ts';
import { errorEvent, HttpJson, pumpNdjson, pumpSse, type RawExchange, rawRequest, readJson } from './http.ts';
import { WsClient } from './ws.ts';

export interface StartOptions {
  config: Config;
  /** A service of the test's own (another model, a shared store); default: the server makes one. */
  chat?: ChatService;
  /** Unsent bytes a slow listener may have queued (WebSocket `maxBufferedBytes`, SSE `maxQueuedBytes`). */
  slowConsumerCapBytes?: number;
}

export interface ServerStatsLite {
  streams: { active: number };
  connections: { active: number };
}

/** A reply in flight, seen from one client. */
export interface Reply {
  /** What the client received: ChatEvents, or an error event for a refusal (status, frame, gRPC code). */
  events: EventQueue;
  /** Vanish without a word: destroy the socket / terminate the WebSocket / cancel the call. */
  vanish(): void;
  /** Stop reading (a slow consumer); the transport's buffers fill up. */
  pause(): void;
  /** Read again. */
  resume(): void;
  /** WebSocket only: the close code the client received. */
  closeCode?: Promise<number>;
}

export interface Client {
  createSession(): Promise<string>;
  history(sessionId: string): Promise<Message[]>;
  stats(): Promise<ServerStatsLite>;
  /** The unauthenticated health probe: true when the server says it is serving. */
  health(): Promise<boolean>;
  /** Start a reply to `text` in the session; resolves once the request is on its way. */
  reply(sessionId: string, text: string): Promise<Reply>;
  close(): Promise<void>;
}

export interface Running {
  readonly protocol: Protocol;
  readonly server: ChatServer;
  /** `http://127.0.0.1:port`, or `127.0.0.1:port` for gRPC. */
  readonly url: string;
  /** A client; with `token`, it sends it the protocol's way. */
  client(options?: { token?: string }): Client;
  /** Close every client made, then the server. */
  close(): Promise<void>;
}

export interface Target {
  protocol: Protocol;
  /** The client sees deltas as they are written (every protocol but REST). */
  streams: boolean;
  /**
   * A client that vanishes cancels its reply at once (REST: nothing to resume). Not SSE, where a
   * reply is started by a POST and runs for the session whoever listens; not NDJSON, WebSocket and
   * gRPC StreamMessage, where a dropped connection is not a cancel: the reply goes on for the resume
   * grace (RESUME_GRACE_MS, LEAVE_GRACE_MS) so that the client can come back for the rest.
   */
  vanishCancels: boolean;
  start(options: StartOptions): Promise<Running>;
  /** A client of a server that runs elsewhere (a child process), at the address it printed. */
  connect(url: string, options?: { token?: string }): Client;
}

const HOST = '127.0.0.1';

/** Sessions, history, stats and health over the shared HTTP routes. */
function httpBasics(api: HttpJson): Omit<Client, 'reply' | 'close'> {
  return {
    createSession: () => api.createSession(),
    history: (id) => api.history(id),
    stats: () => api.ok<ServerStatsLite>('GET', '/stats'),
    health: async () => (await api.call('GET', '/health')).status === 200,
  };
}

/** A server plus the clients the test made from it. */
function running(
  protocol: Protocol,
  server: ChatServer,
  url: string,
  makeClient: (token: string | undefined) => Client,
): Running {
  const clients: Client[] = [];
  return {
    protocol,
    server,
    url,
    client(options = {}) {
      const client = makeClient(options.token);
      clients.push(client);
      return client;
    },
    async close() {
      await Promise.allSettled(clients.map((c) => c.close()));
      await server.close();
    },
  };
}

function bearer(token: string | undefined): Record<string, string> {
  return token ? { authorization: `Bearer ${token}` } : {};
}

/** A reply read from one stream (a response, a call, a socket): `vanish` abandons it abruptly. */
function replyOf(
  events: EventQueue,
  stream: { pause(): unknown; resume(): unknown },
  vanish: () => void,
): Reply {
  return { events, vanish, pause: () => void stream.pause(), resume: () => void stream.resume() };
}

/** What an HTTP client's reply gets: the JSON API, and a raw exchange of its own (closed with the client). */
interface HttpReplyContext {
  api: HttpJson;
  open(path: string, options: Parameters<typeof rawRequest>[1]): RawExchange;
}

/** An HTTP client: the shared routes, and `reply` (each on exchanges its close destroys). */
function httpClient(
  base: string,
  token: string | undefined,
  reply: (context: HttpReplyContext, sessionId: string, text: string) => Promise<Reply>,
): Client {
  const api = new HttpJson(base, token);
  const exchanges = new Set<RawExchange>();
  const open: HttpReplyContext['open'] = (path, options) => {
    const exchange = rawRequest(`${base}${path}`, {
      ...options,
      headers: { ...options.headers, ...bearer(token) },
    });
    exchanges.add(exchange);
    return exchange;
  };
  return {
    ...httpBasics(api),
    reply: (sessionId, text) => reply({ api, open }, sessionId, text),
    async close() {
      for (const exchange of exchanges) exchange.destroy();
      await api.close();
    },
  };
}

/** A refusal (any status but the one expected): its `{error}` body as the reply's only event. */
async function refusal(res: IncomingMessage, events: EventQueue): Promise<void> {
  events.push(errorEvent({ status: res.statusCode ?? 0, headers: res.headers, body: await readJson(res) }));
  events.end();
}

/** REST and Streamable HTTP: the reply is the answer to one POST on a connection of its own. */
function postClient(base: string, token: string | undefined, streams: boolean): Client {
  return httpClient(base, token, async ({ open }, sessionId, text) => {
    const events = new EventQueue();
    const exchange = open(`/sessions/${sessionId}/messages`, {
      method: 'POST',
      body: JSON.stringify({ text }),
    });
    exchange.response.then(
      async (res) => {
        if (res.statusCode !== 200) {
          await refusal(res, events);
        } else if (streams) {
          pumpNdjson(res, events);
        } else {
          // REST: one complete answer, seen here as the text (one delta) and its done.
          const answer = (await readJson(res)) as {
            messageId: string;
            text: string;
            finishReason: 'stop' | 'cancelled' | 'max_tokens';
            usage: { inputTokens: number; outputTokens: number };
            timings: { ttftMs: number; totalMs: number };
          };
          if (typeof answer !== 'object') {
            events.end(); // the connection broke mid-answer
            return;
          }
          events.push({ type: 'delta', text: answer.text });
          const { text: _text, ...rest } = answer;
          events.push({ type: 'done', ...rest });
          events.end();
        }
      },
      () => events.end(),
    );
    return replyOf(events, exchange, () => exchange.destroy());
  });
}

/** SSE: a listener on the session's event stream, then the POST that starts the reply. */
function sseClient(base: string, token: string | undefined): Client {
  return httpClient(base, token, async ({ api, open }, sessionId, text) => {
    const events = new EventQueue();
    const listener = open(`/sessions/${sessionId}/events`, {
      method: 'GET',
      headers: { accept: 'text/event-stream' },
    });
    const handle = replyOf(events, listener, () => listener.destroy());
    const res = await listener.response;
    if (res.statusCode !== 200) {
      await refusal(res, events);
      return handle;
    }
    pumpSse(res, events); // subscribed: the reply's events cannot be missed now
    const started = await api.call('POST', `/sessions/${sessionId}/messages`, { text });
    if (started.status !== 202) {
      events.push(errorEvent(started));
      events.end();
      listener.destroy();
    }
    return handle;
  });
}

/** WebSocket: a connection per reply that joins the session and sends the text. */
function wsClient(base: string, token: string | undefined): Client {
  const api = new HttpJson(base, token);
  const sockets = new Set<WsClient>();
  const wsUrl = `${base.replace(/^http/, 'ws')}/ws`;
  return {
    ...httpBasics(api),
    async reply(sessionId, text) {
      const events = new EventQueue();
      const ws = new WsClient(wsUrl, token ? { token } : {});
      sockets.add(ws);
      const handle = {
        ...replyOf(events, ws.ws, () => ws.vanish()),
        closeCode: ws.closed.then((closed) => closed.code),
      };
      try {
        await ws.join(sessionId);
      } catch (error) {
        // Refused: an `error` frame (join), or the upgrade's HTTP answer with its `{error}` body.
        const { status, body } = error as { status?: number; body?: unknown };
        const refused = ws.frames.find((f) => f.type === 'error') as FaultEvent | undefined;
        events.push(
          refused ??
            (status
              ? errorEvent({ status, headers: {}, body })
              : { type: 'error', error: { code: 'internal', message: String(error) } }),
        );
        events.end();
        return handle;
      }
      ws.onFrame((frame) => {
        if (['start', 'delta', 'done', 'error'].includes(frame.type))
          events.push(frame as unknown as FaultEvent);
      });
      void ws.closed.then(() => events.end());
      ws.send({ type: 'send', text });
      return handle;
    },
    async close() {
      for (const ws of sockets) ws.close();
      await api.close();
    },
  };
}

function grpcClient(target: string, token: string | undefined): Client {
  const grpc = new GrpcClient(target, token ? { token } : {});
  return {
    createSession: () => grpc.createSession(),
    history: (id) => grpc.history(id),
    stats: () => grpc.stats(),
    health: () => grpc.health(),
    async reply(sessionId, text) {
      const { queue, call } = grpc.streamMessage(sessionId, text);
      return replyOf(queue, call, () => call.cancel());
    },
    async close() {
      grpc.close();
    },
  };
}

/** A row of the table: how to make its server, and the client that speaks its protocol. */
function row(
  protocol: Protocol,
  traits: Pick<Target, 'streams' | 'vanishCancels'>,
  create: (options: StartOptions) => Promise<ChatServer>,
  client: (url: string, token: string | undefined) => Client,
): Target {
  return {
    protocol,
    ...traits,
    async start(options) {
      const server = await create(options);
      const url = await server.listen({ port: 0, host: HOST });
      return running(protocol, server, url, (token) => client(url, token));
    },
    connect: (url, { token } = {}) => client(url, token),
  };
}

/** The server's options every row passes: the configuration, and the test's own service if any. */
const serverOptions = ({ config, chat }: StartOptions) => ({ config, ...(chat ? { chat } : {}) });
const STREAMS = { streams: true, vanishCancels: false };

/** The five rows. */
export const TARGETS: readonly Target[] = [
  row(
    'rest',
    { streams: false, vanishCancels: true },
    (options) => createRest(serverOptions(options)),
    (url, token) => postClient(url, token, false),
  ),
  row(
    'streamable-http',
    STREAMS,
    (options) => createStreamableHttp(serverOptions(options)),
    (url, token) => postClient(url, token, true),
  ),
  row(
    'sse',
    STREAMS,
    ({ slowConsumerCapBytes: cap, ...options }) =>
      createSse({ ...serverOptions(options), ...(cap ? { maxQueuedBytes: cap } : {}) }),
    sseClient,
  ),
  row(
    'websocket',
    STREAMS,
    ({ slowConsumerCapBytes: cap, ...options }) =>
      createWebSocket({ ...serverOptions(options), ...(cap ? { maxBufferedBytes: cap } : {}) }),
    wsClient,
  ),
  row('grpc', STREAMS, (options) => createGrpc(serverOptions(options)), grpcClient),
];

export function target(protocol: Protocol): Target {
  return TARGETS.find((t) => t.protocol === protocol)!;
}

/** Poll `check` until it returns true (bounded); the last value is returned for the assertion. */
export async function eventually<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  options: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 25));
  }
}

/** History is well formed: user/model alternate, starting with user. */
export function alternates(messages: readonly Message[]): boolean {
  return messages.every((m, i) => m.role === (i % 2 === 0 ? 'user' : 'model'));
}
