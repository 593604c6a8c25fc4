import * as grpc from '@grpc/grpc-js';
import type { ChatEvent, ChatServer } from '@gtp/core';
import { testConfig } from '@gtp/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GrpcAdapter } from '../client.ts';
import type { ChatServiceClient as ChatClient } from '../generated/genai/chat/v1/ChatService.ts';
import { createServer } from '../server.ts';
import { CHAT_SERVICE_NAME, ChatServiceClient, HealthClient } from '../src/proto.ts';

const TOKEN = 'grpc-test-token';

async function collect(events: AsyncIterable<ChatEvent>): Promise<ChatEvent[]> {
  const out: ChatEvent[] = [];
  for await (const event of events) out.push(event);
  return out;
}

/** The status a call ended with (it must fail). */
function statusOf(
  start: (done: (error: grpc.ServiceError | null) => void) => void,
): Promise<grpc.ServiceError> {
  return new Promise((resolve, reject) =>
    start((error) => (error ? resolve(error) : reject(new Error('the call succeeded')))),
  );
}

/** A stream's final error (it must fail). */
function streamStatus(stream: NodeJS.EventEmitter): Promise<grpc.ServiceError> {
  stream.on('data', () => undefined);
  return new Promise((resolve, reject) => {
    stream.once('error', resolve);
    stream.once('end', () => reject(new Error('the stream ended without an error')));
  });
}

describe('gRPC with AUTH_TOKEN set', () => {
  let server: ChatServer;
  let target: string;
  let bare: ChatClient;
  const adapters: GrpcAdapter[] = [];
  const adapter = (token?: string) => {
    const made = new GrpcAdapter(target, token ? { token } : {});
    adapters.push(made);
    return made;
  };

  beforeAll(async () => {
    server = await createServer({ config: testConfig({ authToken: TOKEN }) });
    target = await server.listen({ port: 0, host: '127.0.0.1' });
    bare = new ChatServiceClient(target, grpc.credentials.createInsecure());
  });
  afterAll(async () => {
    bare.close();
    await Promise.all(adapters.map((a) => a.close()));
    await server.close();
  });

  it('without metadata every call shape is UNAUTHENTICATED, with a message that says what to send', async () => {
    const unary = await statusOf((done) => bare.createSession({}, done));
    expect(unary.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(unary.details).toContain('authorization: Bearer');
    expect(unary.metadata.get('chat-error-code')).toEqual(['unauthorized']);

    const streamed = await streamStatus(bare.streamMessage({ sessionId: 'x', text: 'hi' }));
    expect(streamed.code).toBe(grpc.status.UNAUTHENTICATED);

    const bidi = bare.chat();
    bidi.write({ ping: { ts: '1' } });
    expect((await streamStatus(bidi)).code).toBe(grpc.status.UNAUTHENTICATED);

    const wrong = new grpc.Metadata();
    wrong.set('authorization', 'Bearer not-the-token');
    const withWrong = await statusOf((done) => bare.listSessions({}, wrong, done));
    expect(withWrong.code).toBe(grpc.status.UNAUTHENTICATED);
  });

  it('the adapter sends the token as metadata on every call and chats end to end', async () => {
    const client = adapter(TOKEN);
    const session = await client.createSession();
    const events = await collect(client.send(session.id, 'hello'));
    expect(events.at(-1)).toMatchObject({ type: 'done', finishReason: 'stop' });
    expect((await client.history(session.id)).map((m) => m.role)).toEqual(['user', 'model']);
    expect((await client.ping()).roundTripMs).toBeGreaterThanOrEqual(0);
  });

  it('an adapter without the token gets ChatError unauthorized', async () => {
    const client = adapter();
    await expect(client.createSession()).rejects.toMatchObject({ code: 'unauthorized' });
    await expect(collect(client.send('any', 'hi'))).rejects.toMatchObject({ code: 'unauthorized' });
  });

  it('grpc.health.v1 stays open; reflection does not', async () => {
    const health = new HealthClient(target, grpc.credentials.createInsecure());
    const answer = await new Promise<{ status: string }>((resolve, reject) =>
      health.check({ service: CHAT_SERVICE_NAME }, (error, value) =>
        error ? reject(error) : resolve(value!),
      ),
    );
    expect(answer.status).toBe('SERVING');
    health.close();

    const generic = new grpc.Client(target, grpc.credentials.createInsecure());
    const reflection = generic.makeBidiStreamRequest(
      '/grpc.reflection.v1.ServerReflection/ServerReflectionInfo',
      (message: Buffer) => message,
      (message: Buffer) => message,
    );
    reflection.write(Buffer.alloc(0));
    expect((await streamStatus(reflection)).code).toBe(grpc.status.UNAUTHENTICATED);
    generic.close();
  });
});
