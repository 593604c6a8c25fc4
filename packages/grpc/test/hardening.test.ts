/**
 * Limits and health: RATE_LIMIT_MAX calls per client address (a server interceptor), and
 * grpc.health.v1 following Redis (NOT_SERVING while it is away, SERVING once it is back).
 */
import * as grpc from '@grpc/grpc-js';
import type { ChatServer } from '@gtp/core';
import { AddressRateLimit } from '@gtp/core';
import { RedisServer, redisAvailable, testConfig } from '@gtp/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { GrpcAdapter } from '../client.ts';
import { createServer } from '../server.ts';
import { peerAddress } from '../src/peer.ts';
import { CHAT_SERVICE_NAME, ChatServiceClient, HealthClient } from '../src/proto.ts';

const closers: (() => unknown)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function start(config: Parameters<typeof testConfig>[0]) {
  const server: ChatServer = await createServer({ config: testConfig(config) });
  closers.push(() => server.close());
  const target = await server.listen({ port: 0, host: '127.0.0.1' });
  return { server, target };
}

function chatClient(target: string) {
  const client = new ChatServiceClient(target, grpc.credentials.createInsecure());
  closers.push(() => client.close());
  return client;
}

function healthOf(target: string, service = CHAT_SERVICE_NAME): Promise<string> {
  const client = new HealthClient(target, grpc.credentials.createInsecure());
  return new Promise<string>((resolve, reject) =>
    client.check({ service }, (error, answer) => (error ? reject(error) : resolve(answer!.status))),
  ).finally(() => client.close());
}

/** The status a unary call ended with: OK (0) or its error code, with the error. */
function outcome(
  start: (done: (error: grpc.ServiceError | null) => void) => void,
): Promise<{ code: number; error?: grpc.ServiceError }> {
  return new Promise((resolve) =>
    start((error) => resolve(error ? { code: error.code, error } : { code: grpc.status.OK })),
  );
}

/** Ask until `check` holds, at most `timeoutMs` (not a timing assertion: a bounded wait). */
async function eventually<T>(ask: () => Promise<T>, check: (value: T) => boolean, timeoutMs = 10_000) {
  const deadline = performance.now() + timeoutMs;
  let last: T | undefined;
  while (performance.now() < deadline) {
    last = await ask().catch(() => undefined);
    if (last !== undefined && check(last)) return last;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`still ${String(last)} after ${timeoutMs} ms`);
}

describe('RATE_LIMIT_MAX calls per client address', () => {
  it('past the budget every ChatService call is RESOURCE_EXHAUSTED rate_limited; health stays open', async () => {
    const { server, target } = await start({ rateLimitMax: 3, rateLimitWindowMs: 60_000 });
    const client = chatClient(target);
    const calls = [];
    for (let i = 0; i < 3; i++) calls.push(await outcome((done) => client.listSessions({}, done)));
    expect(calls.map((c) => c.code)).toEqual([grpc.status.OK, grpc.status.OK, grpc.status.OK]);

    const refused = await outcome((done) => client.createSession({}, done));
    expect(refused.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(refused.error?.details).toMatch(/more than 3 calls in 60 s from this address.*RATE_LIMIT_MAX/);
    expect(refused.error?.metadata.get('chat-error-code')).toEqual(['rate_limited']);

    // Another connection from the same address shares the budget; a stream counts like a call.
    const second = chatClient(target);
    const stream = second.streamMessage({ sessionId: 'any', text: 'hi' });
    stream.on('data', () => undefined);
    const streamed = await new Promise<grpc.ServiceError>((resolve) => stream.once('error', resolve));
    expect(streamed.code).toBe(grpc.status.RESOURCE_EXHAUSTED);

    // Our adapter reports it as the ChatError it is.
    const adapter = new GrpcAdapter(target);
    closers.push(() => adapter.close());
    await expect(adapter.createSession()).rejects.toMatchObject({ code: 'rate_limited' });

    // Probes are not counted, and nothing was created by the refused calls.
    for (let i = 0; i < 3; i++) expect(await healthOf(target)).toBe('SERVING');
    const snapshot = await server.chat.snapshot();
    expect(snapshot.errors.byCode.rate_limited).toBe(3);
    expect(snapshot.sessions.active).toBe(0);
  });

  it('rateLimitMax 0 turns it off', async () => {
    const { target } = await start({ rateLimitMax: 0 });
    const client = chatClient(target);
    for (let i = 0; i < 10; i++)
      expect((await outcome((done) => client.listSessions({}, done))).code).toBe(grpc.status.OK);
  });

  it('counts by address without the port, forgets at the end of the window, stays bounded', () => {
    expect(peerAddress('127.0.0.1:50312')).toBe('127.0.0.1');
    expect(peerAddress('::1:50312')).toBe('::1');
    expect(peerAddress('[::1]:50312')).toBe('::1');
    expect(peerAddress('unknown')).toBe('unknown');

    const limit = new AddressRateLimit(2, 1_000, 3, 0);
    expect([limit.take('a', 0), limit.take('a', 10), limit.take('a', 20)]).toEqual([0, 0, 1]);
    expect(limit.take('b', 30)).toBe(0);
    expect(limit.take('a', 1_000)).toBe(0); // a new window
    for (const address of ['c', 'd', 'e', 'f']) limit.take(address, 1_010);
    expect(limit.size).toBe(3);
  });
});

describe.skipIf(!redisAvailable)('grpc.health.v1 follows Redis (REDIS_URL)', () => {
  it('NOT_SERVING while Redis is down, SERVING again once it is back on the same port', async () => {
    let redis = await RedisServer.start();
    closers.push(() => redis.stop());
    const { target } = await start({ redisUrl: redis.url });
    expect(await healthOf(target)).toBe('SERVING');

    await redis.stop();
    await eventually(
      () => healthOf(target),
      (status) => status === 'NOT_SERVING',
    );
    expect(await healthOf(target, '')).toBe('NOT_SERVING'); // the whole server too

    redis = await RedisServer.start(redis.port);
    await eventually(
      () => healthOf(target),
      (status) => status === 'SERVING',
    );
    expect(await healthOf(target, '')).toBe('SERVING');
    // And the service works again.
    const adapter = new GrpcAdapter(target);
    closers.push(() => adapter.close());
    expect((await adapter.createSession()).id).toEqual(expect.any(String));
  });
});
