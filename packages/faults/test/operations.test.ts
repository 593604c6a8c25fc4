/**
 * Operations on all five servers: after a scripted session, GET /metrics counts what was done,
 * /stats agrees with it, and the OTLP spans of each turn arrive at a local OTLP/HTTP receiver as
 * children of the caller's trace context (HTTP header, gRPC metadata, WebSocket `send` field),
 * with the model call as the turn's child and the first token as an event.
 */
import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer, type Server } from 'node:http';
import * as grpc from '@grpc/grpc-js';
import { type ChatServer, flushTracing, loadConfig, type Protocol } from '@gtp/core';
import { createServer as createGrpc } from '@gtp/grpc/server';
import { createServer as createRest } from '@gtp/rest/server';
import { createServer as createSse } from '@gtp/sse/server';
import { createServer as createStreamableHttp } from '@gtp/streamable-http/server';
import { createServer as createWebSocket } from '@gtp/websocket/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ChatServiceClient } from '../../grpc/src/proto.ts';

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  events?: { name: string }[];
}

/** A local OTLP/HTTP receiver: the exporter posts JSON `ExportTraceServiceRequest`s to /v1/traces. */
function otlpReceiver(): Promise<{ url: string; spans: OtlpSpan[]; server: Server }> {
  const spans: OtlpSpan[] = [];
  const server = createHttpServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      if (request.url === '/v1/traces') {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
          resourceSpans: { scopeSpans: { spans: OtlpSpan[] }[] }[];
        };
        for (const r of body.resourceSpans) for (const s of r.scopeSpans) spans.push(...s.spans);
      }
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end('{}');
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const address = server.address() as { port: number };
      resolve({ url: `http://127.0.0.1:${address.port}`, spans, server });
    }),
  );
}

const hex = (bytes: number) => randomBytes(bytes).toString('hex');
const traceparentOf = (traceId: string, spanId: string) => `00-${traceId}-${spanId}-01`;

/** One turn over a protocol, with a traceparent; resolves to the output tokens its `done` reported. */
type Turn = (server: ChatServer, address: string, sessionId: string, traceparent: string) => Promise<number>;

async function httpJson(url: string, init: RequestInit = {}): Promise<{ status: number; body: any }> {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(20_000) });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

const post = (traceparent: string, text: string): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', traceparent },
  body: JSON.stringify({ text }),
});

const restTurn: Turn = async (_server, address, id, traceparent) => {
  const { status, body } = await httpJson(`${address}/sessions/${id}/messages`, post(traceparent, 'hello'));
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
  const accepted = await httpJson(`${address}/sessions/${id}/messages`, post(traceparent, 'hello'));
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

const grpcTurn: Turn = async (_server, address, id, traceparent) => {
  const client = new ChatServiceClient(address, grpc.credentials.createInsecure());
  try {
    const metadata = new grpc.Metadata();
    metadata.set('traceparent', traceparent);
    const reply = await new Promise<{ usage: { outputTokens: number } }>((resolve, reject) =>
      client.sendMessage({ sessionId: id, text: 'hello' }, metadata, (error: unknown, value: any) =>
        error ? reject(error) : resolve(value),
      ),
    );
    return Number(reply.usage.outputTokens);
  } finally {
    client.close();
  }
};

/** A session, and a request for an unknown one (one session_not_found error). */
async function grpcSession(address: string): Promise<string> {
  const client = new ChatServiceClient(address, grpc.credentials.createInsecure());
  try {
    const session = await new Promise<{ id: string }>((resolve, reject) =>
      client.createSession({}, (error: unknown, value: any) => (error ? reject(error) : resolve(value))),
    );
    const missing = await new Promise<grpc.ServiceError | null>((resolve) =>
      client.getSession(
        { sessionId: '00000000-0000-4000-8000-000000000000' },
        (error: grpc.ServiceError | null) => resolve(error),
      ),
    );
    expect(missing?.code).toBe(grpc.status.NOT_FOUND);
    return session.id;
  } finally {
    client.close();
  }
}

async function httpSession(address: string): Promise<string> {
  const created = await httpJson(`${address}/sessions`, { method: 'POST' });
  expect(created.status).toBe(201);
  const missing = await httpJson(`${address}/sessions/00000000-0000-4000-8000-000000000000`);
  expect(missing.status).toBe(404);
  return created.body.id;
}

const TRANSPORTS: [Protocol, typeof createRest, Turn][] = [
  ['rest', createRest, restTurn],
  ['streamable-http', createStreamableHttp, ndjsonTurn],
  ['sse', createSse, sseTurn],
  ['websocket', createWebSocket, wsTurn],
  ['grpc', createGrpc as typeof createRest, grpcTurn],
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

let receiver: Awaited<ReturnType<typeof otlpReceiver>>;
beforeAll(async () => {
  receiver = await otlpReceiver();
});
afterAll(() => new Promise<void>((resolve) => receiver.server.close(() => resolve())));

describe.each(TRANSPORTS)('%s: metrics, stats and traces', (protocol, create, turn) => {
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
      const parents = [hex(8), hex(8)];
      let tokens = 0;
      for (const parent of parents)
        tokens += await turn(server, address, sessionId, traceparentOf(traceId, parent));
      expect(tokens).toBeGreaterThan(0);

      const metricsUrl = http ? address : (server as ChatServer & { metricsUrl: string }).metricsUrl;
      const stats = http ? (await httpJson(`${address}/stats`)).body : await server.chat.snapshot(); // gRPC's GetServerStats is the same snapshot
      const scrape = await fetch(`${metricsUrl}/metrics`, { signal: AbortSignal.timeout(20_000) });
      expect(scrape.headers.get('content-type')).toContain('text/plain');
      const text = await scrape.text();
      const p = { protocol };
      expect(sample(text, 'gtp_turns_total', { ...p, outcome: 'completed' })).toBe(2);
      expect(sample(text, 'gtp_ttft_seconds_count', p)).toBe(2);
      expect(sample(text, 'gtp_turn_duration_seconds_count', p)).toBe(2);
      expect(sample(text, 'gtp_output_tokens_total', p)).toBe(tokens);
      expect(sample(text, 'gtp_streams_total', p)).toBe(2);
      expect(sample(text, 'gtp_streams_active', p)).toBe(0);
      expect(sample(text, 'gtp_errors_total', { ...p, code: 'session_not_found' })).toBe(1);
      expect(sample(text, 'gtp_sessions', p)).toBe(1);
      expect(sample(text, 'gtp_dependency_up', { ...p, dependency: 'store', kind: 'memory' })).toBe(1);
      expect(sample(text, 'gtp_sent_bytes_total', p)).toBeGreaterThan(0);
      // The same counts in /stats, over the same scope (the scrape and /stats are not counted).
      expect(stats.turns.completed).toBe(2);
      expect(stats.errors.byCode.session_not_found).toBe(1);
      expect(sample(text, 'gtp_sent_bytes_total', p)).toBe(stats.bytes.sent);
      expect(sample(text, 'gtp_received_bytes_total', p)).toBe(stats.bytes.received);
      // Connections carry session events: one SSE stream or WebSocket per turn here; none on the others.
      const perTurn = protocol === 'sse' || protocol === 'websocket' ? 1 : 0;
      expect(stats.connections.total).toBe(2 * perTurn);
      expect(sample(text, 'gtp_connections_total', p)).toBe(2 * perTurn);

      await flushTracing();
      const ours = receiver.spans.filter((s) => s.traceId === traceId);
      const turns = ours.filter((s) => s.name === 'chat.turn');
      expect(turns.map((s) => s.parentSpanId).sort()).toEqual([...parents].sort());
      for (const t of turns) {
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
