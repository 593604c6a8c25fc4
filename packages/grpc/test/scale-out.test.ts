/**
 * Scale-out across protocols: a gRPC instance and a Streamable HTTP instance on one Redis share
 * sessions, history and cancels. (The Streamable HTTP server and client are imported from their
 * package by path: a test-only reach across packages, to prove they meet in the same store.)
 */
import * as grpc from '@grpc/grpc-js';
import type { ChatEvent, ChatServer } from '@gtp/core';
import { RedisServer, redisAvailable, testConfig } from '@gtp/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StreamableHttpAdapter } from '../../streamable-http/client.ts';
import { createServer as createStreamableServer } from '../../streamable-http/server.ts';
import { GrpcAdapter } from '../client.ts';
import { createServer as createGrpcServer } from '../server.ts';
import { ChatServiceClient } from '../src/proto.ts';

async function collect(events: AsyncIterable<ChatEvent>): Promise<ChatEvent[]> {
  const out: ChatEvent[] = [];
  for await (const event of events) out.push(event);
  return out;
}

interface Instances {
  grpc: { server: ChatServer; client: GrpcAdapter; target: string };
  http: { server: ChatServer; client: StreamableHttpAdapter };
  close(): Promise<void>;
}

describe.skipIf(!redisAvailable)('gRPC and Streamable HTTP instances on one Redis (REDIS_URL)', () => {
  let redis: RedisServer;

  beforeAll(async () => {
    redis = await RedisServer.start();
  });
  afterAll(() => redis?.stop());

  /** One instance of each, each creating its own ChatService from the configuration. */
  const startBoth = async (simTokenDelayMs = 0): Promise<Instances> => {
    const config = testConfig({ redisUrl: redis.url, simTokenDelayMs });
    const grpcServer = await createGrpcServer({ config });
    const target = await grpcServer.listen({ port: 0, host: '127.0.0.1' });
    const httpServer = await createStreamableServer({ config });
    const url = await httpServer.listen({ port: 0, host: '127.0.0.1' });
    const both: Instances = {
      grpc: { server: grpcServer, client: new GrpcAdapter(target), target },
      http: { server: httpServer, client: new StreamableHttpAdapter(url) },
      async close() {
        await both.grpc.client.close();
        await both.http.client.close();
        await both.grpc.server.close();
        await both.http.server.close();
      },
    };
    return both;
  };

  it('see the same session and history, and it survives closing and re-creating both', async () => {
    const first = await startBoth();
    let sessionId: string;
    let before: Awaited<ReturnType<GrpcAdapter['history']>>;
    try {
      sessionId = (await first.grpc.client.createSession()).id;
      const overHttp = await collect(first.http.client.send(sessionId, 'hello over HTTP'));
      expect(overHttp.at(-1)).toMatchObject({ type: 'done', finishReason: 'stop' });
      const overGrpc = await collect(first.grpc.client.send(sessionId, 'and over gRPC'));
      expect(overGrpc.at(-1)).toMatchObject({ type: 'done', finishReason: 'stop' });

      before = await first.grpc.client.history(sessionId);
      expect(before.map((m) => m.text).filter((_, i) => i % 2 === 0)).toEqual([
        'hello over HTTP',
        'and over gRPC',
      ]);
      expect(await first.http.client.history(sessionId)).toEqual(before);
      // The simulated model saw the turn the other protocol had added: it is on turn 2.
      expect(before[3]!.text).toContain('Turn 2');
    } finally {
      await first.close();
    }

    const second = await startBoth();
    try {
      expect(await second.http.client.history(sessionId)).toEqual(before);
      expect(await second.grpc.client.history(sessionId)).toEqual(before);
      expect((await second.http.client.listSessions()).map((s) => s.id)).toContain(sessionId);
      const again = await collect(second.http.client.send(sessionId, 'still there?'));
      expect(again.at(-1)).toMatchObject({ type: 'done', finishReason: 'stop' });
      expect(await second.grpc.client.history(sessionId)).toHaveLength(6);
    } finally {
      await second.close();
    }
  });

  it('a Chat `cancel` on the gRPC instance stops a reply streaming from the HTTP instance', async () => {
    const both = await startBoth(20);
    const bidiClient = new ChatServiceClient(both.grpc.target, grpc.credentials.createInsecure());
    try {
      const { id } = await both.http.client.createSession();
      const events: ChatEvent[] = [];
      const bidi = bidiClient.chat();
      bidi.on('data', () => undefined);
      bidi.on('error', () => undefined);
      for await (const event of both.http.client.send(id, 'a long answer please')) {
        events.push(event);
        if (event.type === 'delta' && events.filter((e) => e.type === 'delta').length === 2)
          bidi.write({ cancel: { sessionId: id } });
      }
      bidi.end();
      expect(events.at(-1)).toMatchObject({ type: 'done', finishReason: 'cancelled' });
      const history = await both.grpc.client.history(id);
      expect(history.at(-1)).toMatchObject({ role: 'model', interrupted: true });
    } finally {
      bidiClient.close();
      await both.close();
    }
  });
});
