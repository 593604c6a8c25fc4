/**
 * The access interceptor on its own: a real grpc-js server with ChatService handlers that only
 * record what reached them, the real shared check of @gtp/core behind a delay (the check is
 * async), and real clients of the three call shapes.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import {
  type Access,
  type AccessCheck,
  type AccessRequest,
  createAccessCheck,
  type ErrorCode,
  type Logger,
  TOKEN_PRINCIPAL,
} from '@gtp/core';
import { testConfig } from '@gtp/core/testing';
import { HealthImplementation } from 'grpc-health-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ChatRequest__Output as ChatClientEvent__Output } from '../generated/genai/chat/v1/ChatRequest.ts';
import type { ChatServiceClient as ChatClient } from '../generated/genai/chat/v1/ChatService.ts';
import { accessInterceptor, accessOf } from '../src/interceptors.ts';
import { ChatServiceClient, HealthClient } from '../src/proto.ts';

const TOKEN = 'interceptor-test-token';
/** Long enough that the messages of a call arrive while its check is still running. */
const CHECK_DELAY_MS = 100;

/** What reached a handler: the method and the Access it read with accessOf(call). */
interface Reached {
  method: string;
  access: Access;
  data?: unknown[];
}

/** One line the interceptor logged. */
interface Logged {
  level: 'info' | 'error';
  fields: Record<string, unknown>;
  message: string;
}

describe('accessInterceptor: the shared access check in front of every call', () => {
  const reached: Reached[] = [];
  const requests: AccessRequest[] = [];
  const refusals: ErrorCode[] = [];
  const logged: Logged[] = [];
  let server: grpc.Server;
  let client: ChatClient;
  let target: string;
  let shared: AccessCheck;
  let access: AccessCheck;

  const authorized = () => {
    const metadata = new grpc.Metadata();
    metadata.set('authorization', `Bearer ${TOKEN}`);
    return metadata;
  };

  beforeAll(async () => {
    shared = createAccessCheck(testConfig({ authToken: TOKEN, rateLimitMax: 0 }));
    access = {
      async check(request: AccessRequest) {
        requests.push(request);
        await sleep(CHECK_DELAY_MS);
        return shared.check(request);
      },
      close: () => shared.close(),
    };
    // A logger that keeps its lines (the interceptor only calls info and error).
    const logger = {
      info: (fields: Record<string, unknown>, message: string) =>
        logged.push({ level: 'info', fields, message }),
      error: (fields: Record<string, unknown>, message: string) =>
        logged.push({ level: 'error', fields, message }),
    } as unknown as Logger;
    server = new grpc.Server({
      interceptors: [accessInterceptor({ access, logger, stats: { recordError: (c) => refusals.push(c) } })],
    });
    const handlers: grpc.UntypedServiceImplementation = {
      CreateSession: (
        call: grpc.ServerUnaryCall<unknown, unknown>,
        callback: grpc.sendUnaryData<unknown>,
      ) => {
        reached.push({ method: 'CreateSession', access: accessOf(call) });
        callback(null, { session: { id: 'made', createdAt: '', updatedAt: '', messageCount: 0 } });
      },
      StreamMessage: (call: grpc.ServerWritableStream<{ text: string }, unknown>) => {
        reached.push({ method: 'StreamMessage', access: accessOf(call), data: [call.request.text] });
        call.write({ delta: { messageId: 'm', index: 0, text: call.request.text } });
        call.end();
      },
      Chat: (call: grpc.ServerDuplexStream<ChatClientEvent__Output, unknown>) => {
        const entry: Reached = { method: 'Chat', access: accessOf(call), data: [] };
        reached.push(entry);
        call.on('data', (message: ChatClientEvent__Output) => {
          entry.data!.push(message.event);
          if (message.event === 'ping') call.write({ pong: { ts: message.ping!.ts, serverTs: '0' } });
        });
        call.on('end', () => call.end());
      },
    };
    server.addService(ChatServiceClient.service, handlers);
    new HealthImplementation({ '': 'SERVING' }).addToServer(server);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) =>
        error ? reject(error) : resolve(bound),
      ),
    );
    target = `127.0.0.1:${port}`;
    client = new ChatServiceClient(target, grpc.credentials.createInsecure());
  });
  afterAll(async () => {
    client.close();
    await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
    await access.close();
  });
  beforeEach(() => {
    reached.length = 0;
    requests.length = 0;
    refusals.length = 0;
    logged.length = 0;
  });

  it('unary: the handler runs after the check and reads the principal with accessOf(call)', async () => {
    const session = await new Promise<{ id: string }>((resolve, reject) =>
      client.createSession({}, authorized(), (error, value) =>
        error ? reject(error) : resolve(value!.session!),
      ),
    );
    expect(session.id).toBe('made');
    expect(reached).toEqual([
      { method: 'CreateSession', access: { principal: TOKEN_PRINCIPAL, clientAddress: '127.0.0.1' } },
    ]);
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({
      transport: 'grpc',
      url: '/genai.chat.v1.ChatService/CreateSession',
      peer: '127.0.0.1',
      probe: false,
      headers: { authorization: [`Bearer ${TOKEN}`], ':authority': [target] },
    });
    expect(refusals).toEqual([]);
  });

  it('server streaming: the request that arrived during the check reaches the handler', async () => {
    const stream = client.streamMessage({ sessionId: 's', text: 'hello' }, authorized());
    const messages: { delta?: { text: string } }[] = [];
    stream.on('data', (message) => messages.push(message));
    await new Promise<void>((resolve, reject) => {
      stream.once('end', resolve);
      stream.once('error', reject);
    });
    expect(messages.map((m) => m.delta?.text)).toEqual(['hello']);
    expect(reached).toMatchObject([{ method: 'StreamMessage', access: { principal: TOKEN_PRINCIPAL } }]);
  });

  it('bidi: messages and the half-close sent during the check are held, then delivered in order', async () => {
    const chat = client.chat(authorized());
    const pongs: string[] = [];
    chat.on('data', (message: { pong?: { ts: string } }) => {
      if (message.pong) pongs.push(message.pong.ts);
    });
    // All of this is sent at once, long before the check (CHECK_DELAY_MS) has answered.
    chat.write({ ping: { ts: '1' } });
    chat.write({ typing: { sessionId: 's', active: true } });
    chat.write({ ping: { ts: '2' } });
    chat.end();
    await new Promise<void>((resolve, reject) => {
      chat.once('end', resolve);
      chat.once('error', reject);
    });
    expect(pongs).toEqual(['1', '2']);
    expect(reached).toMatchObject([
      { method: 'Chat', access: { principal: TOKEN_PRINCIPAL }, data: ['ping', 'typing', 'ping'] },
    ]);
  });

  it('a refused call of any shape ends with its status and never reaches a handler', async () => {
    const unary = await new Promise<grpc.ServiceError>((resolve, reject) =>
      client.createSession({}, (error) => (error ? resolve(error) : reject(new Error('the call succeeded')))),
    );
    expect(unary.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(unary.details).toMatch(/^missing or wrong token: send the metadata authorization: Bearer /);
    expect(unary.metadata.get('chat-error-code')).toEqual(['unauthorized']);

    const ended = (call: grpc.ClientReadableStream<unknown> | grpc.ClientDuplexStream<unknown, unknown>) =>
      new Promise<grpc.ServiceError>((resolve, reject) => {
        call.on('data', () => reject(new Error('a refused call sent a message')));
        call.once('error', resolve);
        call.once('end', () => reject(new Error('the call ended without an error')));
      });
    const wrong = new grpc.Metadata();
    wrong.set('authorization', 'Bearer not-the-token');
    const streamed = await ended(client.streamMessage({ sessionId: 's', text: 'hi' }, wrong));
    expect(streamed.code).toBe(grpc.status.UNAUTHENTICATED);

    const bidi = client.chat();
    bidi.write({ ping: { ts: '1' } });
    expect((await ended(bidi)).code).toBe(grpc.status.UNAUTHENTICATED);

    expect(reached).toEqual([]);
    expect(refusals).toEqual(['unauthorized', 'unauthorized', 'unauthorized']);
    // Each refusal is logged once, at info, with the method and the code.
    expect(logged.map((line) => [line.level, line.fields.method, line.fields.code])).toEqual([
      ['info', '/genai.chat.v1.ChatService/CreateSession', 'unauthorized'],
      ['info', '/genai.chat.v1.ChatService/StreamMessage', 'unauthorized'],
      ['info', '/genai.chat.v1.ChatService/Chat', 'unauthorized'],
    ]);
  });

  it('a cross-site Origin is PERMISSION_DENIED forbidden, even with the token', async () => {
    const metadata = authorized();
    metadata.set('origin', 'https://elsewhere.example');
    const refused = await new Promise<grpc.ServiceError>((resolve, reject) =>
      client.createSession({}, metadata, (error) =>
        error ? resolve(error) : reject(new Error('succeeded')),
      ),
    );
    expect(refused.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(refused.metadata.get('chat-error-code')).toEqual(['forbidden']);
    expect(reached).toEqual([]);
  });

  it("an :authority that is not one of a loopback server's names is PERMISSION_DENIED (the Host rule)", async () => {
    const foreign = new ChatServiceClient(target, grpc.credentials.createInsecure(), {
      'grpc.default_authority': 'rebound.example:50051',
    });
    const refused = await new Promise<grpc.ServiceError>((resolve, reject) =>
      foreign.createSession({}, authorized(), (error) =>
        error ? resolve(error) : reject(new Error('succeeded')),
      ),
    );
    foreign.close();
    expect(refused.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(refused.metadata.get('chat-error-code')).toEqual(['forbidden']);
    expect(requests[0]?.headers[':authority']).toEqual(['rebound.example:50051']);
    expect(reached).toEqual([]);
  });

  it('grpc.health.v1 is a probe: no token needed', async () => {
    const health = new HealthClient(target, grpc.credentials.createInsecure());
    const answer = await new Promise<{ status: string }>((resolve, reject) =>
      health.check({ service: '' }, (error, value) => (error ? reject(error) : resolve(value!))),
    );
    health.close();
    expect(answer.status).toBe('SERVING');
    expect(requests).toMatchObject([{ url: '/grpc.health.v1.Health/Check', probe: true }]);
  });
});

describe('accessOf', () => {
  it('refuses a call that did not pass the interceptor (a bug, not a client error)', () => {
    expect(() => accessOf({ metadata: new grpc.Metadata() })).toThrow(/did not pass the access interceptor/);
  });
});
