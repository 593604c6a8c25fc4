/**
 * Stop versus a lost connection on StreamMessage: gRPC reports both as CANCELLED, so a closed
 * call keeps its reply for the resume grace (core's ResumeGraces) and CancelReply is the Stop.
 * Real servers on loopback, grpc-js and Connect (gRPC-Web transport) clients, @gtp/netem's proxy
 * to cut the connection mid-reply.
 */
import { createClient } from '@connectrpc/connect';
import { createGrpcWebTransport } from '@connectrpc/connect-node';
import * as grpc from '@grpc/grpc-js';
import type { Config } from '@gtp/core';
import { testConfig } from '@gtp/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { type NetworkProxy, PROFILES, startProxy } from '../../netem/src/index.ts';
import { ChatService as ChatServiceDesc } from '../generated/es/genai/chat/v1/chat_pb.js';
import type { ChatServiceClient as ChatClient } from '../generated/genai/chat/v1/ChatService.ts';
import type { StreamMessageResponse__Output } from '../generated/genai/chat/v1/StreamMessageResponse.ts';
import { createServer, type GrpcChatServer } from '../server.ts';
import { ChatServiceClient } from '../src/proto.ts';

const servers: GrpcChatServer[] = [];
const clients: ChatClient[] = [];
const proxies: NetworkProxy[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await Promise.all(proxies.splice(0).map((p) => p.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** Slow enough that a reply is still running when the test acts on it. */
const SLOW: Partial<Config> = { simTtftMs: 0, simTokenDelayMs: 30 };

async function start(resumeGraceMs?: number) {
  const server = await createServer({
    config: testConfig(SLOW),
    ...(resumeGraceMs !== undefined ? { resumeGraceMs } : {}),
  });
  servers.push(server);
  const target = await server.listen({ port: 0, host: '127.0.0.1' });
  return { server, target, port: Number(target.split(':').at(-1)) };
}

function clientFor(target: string): ChatClient {
  const client = new ChatServiceClient(target, grpc.credentials.createInsecure());
  clients.push(client);
  return client;
}

function unary<T>(run: (callback: grpc.requestCallback<T>) => unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    run((error, value) => (error ? reject(error) : resolve(value!)));
  });
}

async function until(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 1_000; i++) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const newSession = async (client: ChatClient) =>
  (await unary<{ session: { id: string } | null }>((cb) => client.createSession({}, cb))).session!.id;

const history = async (client: ChatClient, sessionId: string) =>
  (
    await unary<{ messages: { role: string; text: string; interrupted: boolean }[] }>((cb) =>
      client.getHistory({ sessionId }, cb),
    )
  ).messages;

/** A StreamMessage call that is cancelled by the client after `deltas` deltas; resolves with its status and what it read. */
function streamThenCancel(client: ChatClient, sessionId: string, deltas = 2) {
  const stream = client.streamMessage({ sessionId, text: 'tell me everything' });
  let text = '';
  let count = 0;
  let messageId = '';
  return new Promise<{ code: number; text: string; messageId: string }>((resolve) => {
    stream.on('data', (m: StreamMessageResponse__Output) => {
      if (m.event === 'start') messageId = m.start!.messageId;
      if (m.event !== 'delta') return;
      text += m.delta!.text;
      if (++count === deltas) stream.cancel();
    });
    stream.on('error', (error: grpc.ServiceError) => resolve({ code: error.code, text, messageId }));
  });
}

describe('StreamMessage: a closed call is not a Stop; CancelReply is', () => {
  it('grpc-js: the reply goes on after call.cancel(); CancelReply stops it, the history keeps it interrupted', async () => {
    const { server, target } = await start();
    const client = clientFor(target);
    const sessionId = await newSession(client);
    const closed = await streamThenCancel(client, sessionId);
    expect(closed.code).toBe(grpc.status.CANCELLED);
    // The call is gone; its reply is not (it waits RESUME_GRACE_MS for a ResumeStream).
    expect(server.chat.isReplying(sessionId)).toBe(true);

    const answer = await unary<{ cancelled: boolean }>((cb) => client.cancelReply({ sessionId }, cb));
    expect(answer.cancelled).toBe(true);
    await until(() => !server.chat.isReplying(sessionId), 'the model to stop');
    const messages = await history(client, sessionId);
    expect(messages).toHaveLength(2);
    expect(messages[1]).toMatchObject({ role: 'ROLE_MODEL', interrupted: true });
    expect(messages[1]!.text.startsWith(closed.text)).toBe(true);

    // Nothing running any more: CancelReply says so, and the next send is not session_busy.
    expect(
      (await unary<{ cancelled: boolean }>((cb) => client.cancelReply({ sessionId }, cb))).cancelled,
    ).toBe(false);
    const next = await unary<{ finishReason: string }>((cb) =>
      client.sendMessage({ sessionId, text: 'again' }, cb),
    );
    expect(next.finishReason).toBe('FINISH_REASON_STOP');
  });

  it('grpc-js: nobody resumes within the grace: the reply is cancelled, interrupted', async () => {
    const { server, target } = await start(100);
    const client = clientFor(target);
    const sessionId = await newSession(client);
    const closed = await streamThenCancel(client, sessionId);
    expect(closed.code).toBe(grpc.status.CANCELLED);
    await until(() => !server.chat.isReplying(sessionId), 'the grace to run out');
    const messages = await history(client, sessionId);
    expect(messages[1]).toMatchObject({ role: 'ROLE_MODEL', interrupted: true });
  });

  it('CancelReply for another principal’s session is NOT_FOUND; an empty session_id INVALID_ARGUMENT', async () => {
    const { target } = await start();
    const client = clientFor(target);
    const error = await unary((cb) => client.cancelReply({ sessionId: crypto.randomUUID() }, cb)).catch(
      (e: grpc.ServiceError) => e,
    );
    expect((error as grpc.ServiceError).code).toBe(grpc.status.NOT_FOUND);
    const empty = await unary((cb) => client.cancelReply({ sessionId: '' }, cb)).catch(
      (e: grpc.ServiceError) => e,
    );
    expect((empty as grpc.ServiceError).code).toBe(grpc.status.INVALID_ARGUMENT);
  });

  it('Connect (gRPC-Web transport): CancelReply stops a StreamMessage reply; the history keeps it interrupted', async () => {
    const { server } = await start();
    const web = createClient(
      ChatServiceDesc,
      createGrpcWebTransport({ baseUrl: server.webUrl!, httpVersion: '1.1' }),
    );
    const { session } = await web.createSession({});
    const sessionId = session!.id;
    let deltas = 0;
    let cancelled: boolean | undefined;
    const events: string[] = [];
    for await (const message of web.streamMessage({ sessionId, text: 'tell me everything' })) {
      events.push(message.event.case ?? '');
      if (message.event.case === 'delta' && ++deltas === 2)
        ({ cancelled } = await web.cancelReply({ sessionId }));
    }
    expect(cancelled).toBe(true);
    // The same call ends with the reply's own `done`, finish reason cancelled.
    expect(events.at(-1)).toBe('done');
    await until(() => !server.chat.isReplying(sessionId), 'the model to stop');
    const { messages } = await web.getHistory({ sessionId });
    expect(messages).toHaveLength(2);
    expect(messages[1]!.interrupted).toBe(true);
  });
});

describe('StreamMessage: a connection cut mid-reply', () => {
  it('the reply goes on, and ResumeStream after the last seq reads the rest to its done', async () => {
    const { server, port } = await start();
    const proxy = await startProxy({ target: { port }, profile: PROFILES.loopback });
    proxies.push(proxy);
    const through = clientFor(`127.0.0.1:${proxy.port}`);
    const sessionId = await newSession(clientFor(`127.0.0.1:${port}`));

    const stream = through.streamMessage({ sessionId, text: 'tell me a long story' });
    let messageId = '';
    let lastSeq = 0;
    let before = '';
    let deltas = 0;
    const broken = new Promise<grpc.ServiceError>((resolve) => {
      stream.on('data', (m: StreamMessageResponse__Output) => {
        lastSeq = Number(m.seq);
        if (m.event === 'start') messageId = m.start!.messageId;
        if (m.event !== 'delta') return;
        before += m.delta!.text;
        if (++deltas === 2) proxy.cutAll();
      });
      stream.on('error', resolve);
    });
    expect((await broken).code).toBe(grpc.status.UNAVAILABLE);
    expect(server.chat.isReplying(sessionId)).toBe(true);

    // Resume on a fresh connection (the direct one), from the last seq that arrived.
    const direct = clientFor(`127.0.0.1:${port}`);
    const resumed = direct.resumeStream({ sessionId, messageId, after: String(lastSeq) });
    let after = '';
    let finish = '';
    for await (const m of resumed as AsyncIterable<StreamMessageResponse__Output & { reset?: unknown }>) {
      expect(m.event).not.toBe('reset');
      if (m.event === 'delta') after += m.delta!.text;
      if (m.event === 'done') finish = m.done!.finishReason;
    }
    expect(finish).toBe('FINISH_REASON_STOP');
    const messages = await history(direct, sessionId);
    expect(messages[1]).toMatchObject({ role: 'ROLE_MODEL', interrupted: false });
    expect(messages[1]!.text).toBe(before + after);
  });
});
