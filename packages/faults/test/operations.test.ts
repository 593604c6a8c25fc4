/**
 * Operations on all five servers: after a scripted session, GET /metrics counts what was done,
 * /stats agrees with it, and the OTLP spans of each turn arrive at a local OTLP/HTTP receiver as
 * children of the caller's trace context (HTTP header, gRPC metadata, WebSocket `send` field),
 * with the model call as the turn's child and the first token as an event (on gRPC: SendMessage,
 * StreamMessage and a Chat stream, each with `traceparent` metadata). Then the refusal counter
 * (`gtp_rate_limited_total`) over RATE_LIMIT_MAX, and `gtp_dependency_up` following a real
 * redis-server that is frozen, thawed, stopped and restarted.
 */
import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import {
  type ChatReply,
  type ChatServer,
  flushTracing,
  loadConfig,
  type Protocol,
  type StatsSnapshot,
} from '@gtp/core';
import { type OtlpReceiver, otlpReceiver, RedisServer, redisAvailable } from '@gtp/core/testing';
import { createServer as createGrpc } from '@gtp/grpc/server';
import { createServer as createRest } from '@gtp/rest/server';
import { createServer as createSse } from '@gtp/sse/server';
import { createServer as createStreamableHttp } from '@gtp/streamable-http/server';
import { createServer as createWebSocket } from '@gtp/websocket/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { ChatResponse__Output } from '../../grpc/generated/genai/chat/v1/ChatResponse.ts';
import type { CreateSessionResponse__Output } from '../../grpc/generated/genai/chat/v1/CreateSessionResponse.ts';
import type { SendMessageResponse__Output } from '../../grpc/generated/genai/chat/v1/SendMessageResponse.ts';
import type { StreamMessageResponse__Output } from '../../grpc/generated/genai/chat/v1/StreamMessageResponse.ts';
import { ChatServiceClient } from '../../grpc/src/proto.ts';

const hex = (bytes: number) => randomBytes(bytes).toString('hex');
const traceparentOf = (traceId: string, spanId: string) => `00-${traceId}-${spanId}-01`;

/** One turn over a protocol, with a traceparent; resolves to the output tokens its `done` reported. */
type Turn = (server: ChatServer, address: string, sessionId: string, traceparent: string) => Promise<number>;

/** A JSON answer, its body typed as the caller expects it (the assertions check what they read). */
async function httpJson<T = unknown>(
  url: string,
  init: RequestInit = {},
): Promise<{ status: number; body: T }> {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(20_000) });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T };
}

const post = (traceparent: string, text: string): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', traceparent },
  body: JSON.stringify({ text }),
});

const restTurn: Turn = async (_server, address, id, traceparent) => {
  const { status, body } = await httpJson<ChatReply>(
    `${address}/sessions/${id}/messages`,
    post(traceparent, 'hello'),
  );
  expect(status).toBe(200);
  return body.usage.outputTokens;
};

const ndjsonTurn: Turn = async (_server, address, id, traceparent) => {
  const response = await fetch(`${address}/sessions/${id}/messages`, {
    ...post(traceparent, 'hello'),
    signal: AbortSignal.timeout(20_000),
  });
  const lines = (await response.text())
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  const done = lines.find((l) => l.type === 'done');
  expect(done).toBeDefined();
  return done.usage.outputTokens;
};

const sseTurn: Turn = async (_server, address, id, traceparent) => {
  const controller = new AbortController();
  const stream = await fetch(`${address}/sessions/${id}/events`, { signal: controller.signal });
  const reader = stream.body!.getReader();
  const accepted = await httpJson<{ messageId: string }>(
    `${address}/sessions/${id}/messages`,
    post(traceparent, 'hello'),
  );
  expect(accepted.status).toBe(202);
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error('the event stream ended before done');
    buffer += Buffer.from(value).toString('utf8');
    const frame = buffer
      .split('\n\n')
      .find((f) => f.includes('event: done') && f.includes(accepted.body.messageId));
    if (frame) {
      controller.abort();
      return JSON.parse(
        frame
          .split('\n')
          .find((l) => l.startsWith('data: '))!
          .slice(6),
      ).usage.outputTokens;
    }
  }
};

const wsTurn: Turn = async (_server, address, id, traceparent) => {
  const socket = new WebSocket(`${address.replace('http', 'ws')}/ws`, 'genai-chat.v1');
  try {
    return await new Promise<number>((resolve, reject) => {
      socket.on('error', reject);
      socket.on('open', () => socket.send(JSON.stringify({ type: 'join', sessionId: id })));
      socket.on('message', (data) => {
        const frame = JSON.parse(String(data));
        if (frame.type === 'joined')
          socket.send(JSON.stringify({ type: 'send', text: 'hello', traceparent }));
        if (frame.type === 'done') resolve(frame.usage.outputTokens);
        if (frame.type === 'error') reject(new Error(frame.error.message));
      });
    });
  } finally {
    socket.close();
  }
};

/** A gRPC client for one turn, and the call metadata that carries the caller's trace context. */
async function withGrpc<T>(
  address: string,
  traceparent: string,
  use: (client: InstanceType<typeof ChatServiceClient>, metadata: grpc.Metadata) => Promise<T>,
): Promise<T> {
  const client = new ChatServiceClient(address, grpc.credentials.createInsecure());
  try {
    const metadata = new grpc.Metadata();
    metadata.set('traceparent', traceparent);
    return await use(client, metadata);
  } finally {
    client.close();
  }
}

/** SendMessage (unary). */
const grpcUnaryTurn: Turn = (_server, address, id, traceparent) =>
  withGrpc(address, traceparent, async (client, metadata) => {
    const reply = await new Promise<SendMessageResponse__Output>((resolve, reject) =>
      client.sendMessage({ sessionId: id, text: 'hello' }, metadata, (error, value) =>
        error || !value ? reject(error ?? new Error('no reply')) : resolve(value),
      ),
    );
    return reply.usage?.outputTokens ?? 0;
  });

/** StreamMessage (server streaming): the tokens of its `done`. */
const grpcStreamTurn: Turn = (_server, address, id, traceparent) =>
  withGrpc(address, traceparent, async (client, metadata) => {
    const call = client.streamMessage({ sessionId: id, text: 'hello' }, metadata);
    for await (const event of call as AsyncIterable<StreamMessageResponse__Output>) {
      if (event.done) return event.done.usage?.outputTokens ?? 0;
      if (event.error) throw new Error(event.error.error?.message);
    }
    throw new Error('StreamMessage ended before done');
  });

/** Chat (bidirectional): one `send` on a stream whose call metadata has the trace context. */
const grpcChatTurn: Turn = (_server, address, id, traceparent) =>
  withGrpc(address, traceparent, async (client, metadata) => {
    const call = client.chat(metadata);
    try {
      call.write({ send: { sessionId: id, text: 'hello' } });
      for await (const event of call as AsyncIterable<ChatResponse__Output>) {
        if (event.done) return event.done.usage?.outputTokens ?? 0;
        if (event.error) throw new Error(event.error.error?.message);
      }
      throw new Error('the Chat stream ended before done');
    } finally {
      call.end();
      call.cancel();
    }
  });

/** A session, and a request for an unknown one (one session_not_found error). */
async function grpcSession(address: string): Promise<string> {
  const client = new ChatServiceClient(address, grpc.credentials.createInsecure());
  try {
    const created = await new Promise<CreateSessionResponse__Output>((resolve, reject) =>
      client.createSession({}, (error, value) =>
        error || !value ? reject(error ?? new Error('no session')) : resolve(value),
      ),
    );
    const missing = await new Promise<grpc.ServiceError | null>((resolve) =>
      client.getSession(
        { sessionId: '00000000-0000-4000-8000-000000000000' },
        (error: grpc.ServiceError | null) => resolve(error),
      ),
    );
    expect(missing?.code).toBe(grpc.status.NOT_FOUND);
    expect(created.session?.id).toBeTruthy();
    return created.session?.id ?? '';
  } finally {
    client.close();
  }
}

async function httpSession(address: string): Promise<string> {
  const created = await httpJson<{ id: string }>(`${address}/sessions`, { method: 'POST' });
  expect(created.status).toBe(201);
  const missing = await httpJson(`${address}/sessions/00000000-0000-4000-8000-000000000000`);
  expect(missing.status).toBe(404);
  return created.body.id;
}

/**
 * Each server, the turns of its scripted session (each with its own parent span), and how many of
 * them open a connection that carries session events (an SSE stream, a WebSocket, a Chat call).
 */
const TRANSPORTS: [Protocol, typeof createRest, Turn[], number][] = [
  ['rest', createRest, [restTurn, restTurn], 0],
  ['streamable-http', createStreamableHttp, [ndjsonTurn, ndjsonTurn], 0],
  ['sse', createSse, [sseTurn, sseTurn], 2],
  ['websocket', createWebSocket, [wsTurn, wsTurn], 2],
  ['grpc', createGrpc as typeof createRest, [grpcUnaryTurn, grpcStreamTurn, grpcChatTurn], 1],
];

/** One sample of a scrape: `name{labels} value`, labels matched as a subset. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split('\n')) {
    const match = /^([a-z_]+)(\{([^}]*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = Object.fromEntries(
      [...(match[3] ?? '').matchAll(/([a-z_]+)="([^"]*)"/g)].map((m) => [m[1], m[2]] as const),
    );
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(match[4]);
  }
  return Number.NaN;
}

let receiver: OtlpReceiver;
beforeAll(async () => {
  receiver = await otlpReceiver();
});
afterAll(() => new Promise<void>((resolve) => receiver.server.close(() => resolve())));

describe.each(TRANSPORTS)('%s: metrics, stats and traces', (protocol, create, turns, connections) => {
  it('counts a scripted session in /metrics and /stats, and exports its turns as children of the caller', async () => {
    const config = loadConfig({
      SIM_TTFT_MS: '0',
      SIM_TOKEN_DELAY_MS: '1',
      LOG_LEVEL: 'silent',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    });
    const server = await create({ config });
    try {
      const address = await server.listen({ port: 0, host: '127.0.0.1' });
      const http = protocol !== 'grpc';
      const sessionId = http ? await httpSession(address) : await grpcSession(address);
      const traceId = hex(16);
      const parents = turns.map(() => hex(8));
      let tokens = 0;
      for (const [i, turn] of turns.entries())
        tokens += await turn(server, address, sessionId, traceparentOf(traceId, parents[i]!));
      expect(tokens).toBeGreaterThan(0);

      const metricsUrl = http ? address : (server as ChatServer & { metricsUrl: string }).metricsUrl;
      const stats = http
        ? (await httpJson<StatsSnapshot>(`${address}/stats`)).body
        : await server.chat.snapshot(); // gRPC's GetServerStats is the same snapshot
      const scrape = await fetch(`${metricsUrl}/metrics`, { signal: AbortSignal.timeout(20_000) });
      expect(scrape.headers.get('content-type')).toContain('text/plain');
      const text = await scrape.text();
      const p = { protocol };
      expect(sample(text, 'gtp_turns_total', { ...p, outcome: 'completed' })).toBe(turns.length);
      expect(sample(text, 'gtp_ttft_seconds_count', p)).toBe(turns.length);
      expect(sample(text, 'gtp_turn_duration_seconds_count', p)).toBe(turns.length);
      expect(sample(text, 'gtp_output_tokens_total', p)).toBe(tokens);
      expect(sample(text, 'gtp_streams_total', p)).toBe(turns.length);
      expect(sample(text, 'gtp_streams_active', p)).toBe(0);
      expect(sample(text, 'gtp_errors_total', { ...p, code: 'session_not_found' })).toBe(1);
      expect(sample(text, 'gtp_sessions', p)).toBe(1);
      expect(sample(text, 'gtp_dependency_up', { ...p, dependency: 'store', kind: 'memory' })).toBe(1);
      expect(sample(text, 'gtp_sent_bytes_total', p)).toBeGreaterThan(0);
      // The same counts in /stats, over the same scope (the scrape and /stats are not counted).
      expect(stats.turns.completed).toBe(turns.length);
      expect(stats.errors.byCode.session_not_found).toBe(1);
      expect(sample(text, 'gtp_sent_bytes_total', p)).toBe(stats.bytes.sent);
      expect(sample(text, 'gtp_received_bytes_total', p)).toBe(stats.bytes.received);
      // Connections carry session events: an SSE stream or WebSocket per turn, gRPC's Chat call.
      expect(stats.connections.total).toBe(connections);
      expect(sample(text, 'gtp_connections_total', p)).toBe(connections);

      await flushTracing();
      const ours = receiver.spans.filter((s) => s.traceId === traceId);
      const spans = ours.filter((s) => s.name === 'chat.turn');
      expect(spans.map((s) => s.parentSpanId).sort()).toEqual([...parents].sort());
      for (const t of spans) {
        expect(t.events?.map((e) => e.name)).toContain('first_token');
        const model = ours.filter((s) => s.name === 'model.stream' && s.parentSpanId === t.spanId);
        expect(model).toHaveLength(1);
        expect(model[0]!.events?.map((e) => e.name)).toContain('first_token');
      }
    } finally {
      await server.close();
    }
  });
});

/** The address a trusted proxy (TRUST_PROXY=loopback) says the refused client has. */
const FLOODING_CLIENT = '203.0.113.7';
const RATE_LIMIT_MAX = 3;
const OVER_LIMIT = 2;

/** RATE_LIMIT_MAX + OVER_LIMIT calls from one client; resolves to how many were refused. */
async function flood(protocol: Protocol, address: string): Promise<number> {
  const calls = Array.from({ length: RATE_LIMIT_MAX + OVER_LIMIT });
  if (protocol === 'grpc') {
    // The scrape is on METRICS_PORT, outside the access check: this client's own address will do.
    const client = new ChatServiceClient(address, grpc.credentials.createInsecure());
    try {
      let refused = 0;
      for (const _ of calls) {
        const error = await new Promise<grpc.ServiceError | null>((resolve) =>
          client.listSessions({}, (failure: grpc.ServiceError | null) => resolve(failure)),
        );
        if (error?.code === grpc.status.RESOURCE_EXHAUSTED) refused += 1;
        else expect(error).toBeNull();
      }
      return refused;
    } finally {
      client.close();
    }
  }
  // Through a "proxy": the flooding client is one address, the scraper (the TCP peer) another.
  let refused = 0;
  for (const _ of calls) {
    const { status } = await httpJson(`${address}/sessions`, {
      headers: { 'x-forwarded-for': FLOODING_CLIENT },
    });
    if (status === 429) refused += 1;
    else expect(status).toBe(200);
  }
  return refused;
}

describe.each(TRANSPORTS)('%s: gtp_rate_limited_total', (protocol, create) => {
  it(`counts every call refused over RATE_LIMIT_MAX (${RATE_LIMIT_MAX} per window)`, async () => {
    const config = loadConfig({
      LOG_LEVEL: 'silent',
      RATE_LIMIT_MAX: String(RATE_LIMIT_MAX),
      // A long window: nothing refills while the test runs.
      RATE_LIMIT_WINDOW_MS: String(600_000),
      TRUST_PROXY: 'loopback',
    });
    const server = await create({ config });
    try {
      const address = await server.listen({ port: 0, host: '127.0.0.1' });
      let refused = await flood(protocol, address);
      expect(refused).toBe(OVER_LIMIT);
      if (protocol === 'websocket') {
        // And frames: one connection's frames over the same budget, each answered rate_limited.
        const socket = new WebSocket(`${address.replace('http', 'ws')}/ws`, 'genai-chat.v1');
        try {
          const frames: { type: string; error?: { code: string } }[] = [];
          await new Promise<void>((resolve, reject) => {
            socket.on('error', reject);
            socket.on('message', (data) => {
              frames.push(JSON.parse(String(data)));
              if (frames.length === RATE_LIMIT_MAX + OVER_LIMIT) resolve();
            });
            socket.on('open', () => {
              for (const [ts] of Array.from({ length: RATE_LIMIT_MAX + OVER_LIMIT }).entries())
                socket.send(JSON.stringify({ type: 'ping', ts }));
            });
          });
          expect(frames.filter((f) => f.type === 'pong')).toHaveLength(RATE_LIMIT_MAX);
          expect(frames.filter((f) => f.error?.code === 'rate_limited')).toHaveLength(OVER_LIMIT);
          refused += OVER_LIMIT;
        } finally {
          socket.close();
        }
      }
      const metricsUrl =
        protocol === 'grpc' ? (server as ChatServer & { metricsUrl: string }).metricsUrl : address;
      const scrape = await fetch(`${metricsUrl}/metrics`, { signal: AbortSignal.timeout(20_000) });
      expect(scrape.status).toBe(200);
      const text = await scrape.text();
      expect(sample(text, 'gtp_rate_limited_total', { protocol })).toBe(refused);
      expect(sample(text, 'gtp_errors_total', { protocol, code: 'rate_limited' })).toBe(refused);
    } finally {
      await server.close();
    }
  });
});

/** Scrape until `gauge` says `value` for both dependencies (or the bound runs out): the last scrape. */
async function untilDependencies(metricsUrl: string, protocol: Protocol, value: number): Promise<string> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const scrape = await fetch(`${metricsUrl}/metrics`, { signal: AbortSignal.timeout(20_000) });
    const text = await scrape.text();
    const up = ['store', 'broker'].map((dependency) =>
      sample(text, 'gtp_dependency_up', { protocol, dependency, kind: 'redis' }),
    );
    if (up.every((v) => v === value) || Date.now() > deadline) return text;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const dependencyTargets = TRANSPORTS.filter(([protocol]) => protocol === 'rest' || protocol === 'grpc');

describe.skipIf(!redisAvailable).each(dependencyTargets)(
  '%s: gtp_dependency_up with a real Redis',
  (protocol, create) => {
    it('is 1 while Redis answers, 0 while it is frozen or stopped, 1 again when it is back', {
      timeout: 120_000,
    }, async () => {
      let redis = await RedisServer.start();
      // RATE_LIMIT_MAX 0: with REDIS_URL the access check's rate limit lives in Redis, and a frozen
      // Redis holds every HTTP request in it (the scrape too) with no deadline of its own — a known
      // defect of core/src/access.ts, reported; this test is about the gauge, not that.
      const config = loadConfig({ LOG_LEVEL: 'silent', REDIS_URL: redis.url, RATE_LIMIT_MAX: '0' });
      const server = await create({ config });
      try {
        const address = await server.listen({ port: 0, host: '127.0.0.1' });
        const metricsUrl =
          protocol === 'grpc' ? (server as ChatServer & { metricsUrl: string }).metricsUrl : address;
        const gauge = (text: string, dependency: string) =>
          sample(text, 'gtp_dependency_up', { protocol, dependency, kind: 'redis' });
        const expectUp = (text: string, value: number) =>
          expect([gauge(text, 'store'), gauge(text, 'broker')]).toEqual([value, value]);

        expectUp(await untilDependencies(metricsUrl, protocol, 1), 1);
        redis.freeze(); // answers nothing: the scrape itself must still answer, with 0
        try {
          expectUp(await untilDependencies(metricsUrl, protocol, 0), 0);
        } finally {
          redis.thaw();
        }
        expectUp(await untilDependencies(metricsUrl, protocol, 1), 1);

        const { port } = redis;
        await redis.stop();
        expectUp(await untilDependencies(metricsUrl, protocol, 0), 0);
        redis = await RedisServer.start(port);
        expectUp(await untilDependencies(metricsUrl, protocol, 1), 1);
      } finally {
        await server.close();
        await redis.stop();
      }
    });
  },
);
