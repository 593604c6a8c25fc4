/**
 * The gRPC-Web listener counted as the grpc-js server is (issue 20): after a gRPC-Web turn the
 * Prometheus text on METRICS_PORT and GetServerStats show its bytes both ways, the completed turn,
 * and a refused call by its code; the turn's `chat.turn` span arrives at a local OTLP/HTTP
 * receiver as the child of the caller's `traceparent` header. Its own file: the tracer provider
 * is once per process.
 */
import { randomBytes } from 'node:crypto';
import { Code, ConnectError, createClient } from '@connectrpc/connect';
import { createGrpcWebTransport } from '@connectrpc/connect-node';
import { type OtlpReceiver, type OtlpSpan, otlpReceiver, testConfig } from '@gtp/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChatService } from '../generated/es/genai/chat/v1/chat_pb.js';
import { createServer, type GrpcChatServer } from '../server.ts';

/** One counter in Prometheus text (`name{…labels…} value`), the lines with `label` summed; 0 when absent. */
const sample = (text: string, name: string, label = '') =>
  text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) && l.includes(label))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);

describe('the gRPC-Web listener in /metrics, GetServerStats and the traces', () => {
  let receiver: OtlpReceiver;
  let server: GrpcChatServer;

  beforeAll(async () => {
    receiver = await otlpReceiver();
    server = await createServer({ config: testConfig({ otlpEndpoint: receiver.url, authToken: 'secret' }) });
    await server.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await server?.close();
    await new Promise((resolve) => receiver?.server.close(resolve));
  });

  const metrics = async () => (await fetch(`${server.metricsUrl}/metrics`)).text();

  it('a turn counts bytes both ways and the turn; a refusal counts its code; the span has the caller as parent', async () => {
    const before = await metrics();
    const traceId = randomBytes(16).toString('hex');
    const parentId = randomBytes(8).toString('hex');
    const client = createClient(
      ChatService,
      createGrpcWebTransport({ baseUrl: server.webUrl!, httpVersion: '1.1' }),
    );
    const authorization = 'Bearer secret';
    const { session } = await client.createSession({}, { headers: { authorization } });
    let done = false;
    for await (const { event } of client.streamMessage(
      { sessionId: session!.id, text: 'count me' },
      { headers: { authorization, traceparent: `00-${traceId}-${parentId}-01` } },
    ))
      if (event.case === 'done') done = true;
    expect(done).toBe(true);
    // No token: refused before any handler, counted as unauthenticated.
    const refused = await client.createSession({}).catch((error: unknown) => ConnectError.from(error));
    expect(refused).toMatchObject({ code: Code.Unauthenticated });

    const after = await metrics();
    const grew = (name: string, label?: string) => sample(after, name, label) - sample(before, name, label);
    expect(grew('gtp_turns_total', 'outcome="completed"')).toBe(1);
    expect(grew('gtp_received_bytes_total')).toBeGreaterThan(0);
    // The reply's frames alone are more than its text.
    expect(grew('gtp_sent_bytes_total')).toBeGreaterThan(50);
    expect(grew('gtp_streams_total')).toBe(1);
    expect(grew('gtp_errors_total', 'code="unauthorized"')).toBe(1);

    const stats = await client.getServerStats({}, { headers: { authorization } });
    expect(stats.turns?.completed).toBeGreaterThanOrEqual(1);
    expect(stats.bytes!.sent).toBeGreaterThan(50n);
    expect(stats.bytes!.received).toBeGreaterThan(0n);
    expect(stats.errors!.byCode.unauthorized).toBe(1);

    // The BatchSpanProcessor exports within a few seconds: wait for the span, no fixed sleep.
    const deadline = Date.now() + 30_000;
    let turn: OtlpSpan | undefined;
    while (!turn && Date.now() < deadline) {
      turn = receiver.spans.find((s) => s.name === 'chat.turn' && s.traceId === traceId);
      if (!turn) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(turn).toBeDefined();
    expect(turn!.parentSpanId).toBe(parentId);
    expect(turn!.attributes?.find((a) => a.key === 'gtp.session.id')?.value.stringValue).toBe(session!.id);
  }, 60_000);
});
