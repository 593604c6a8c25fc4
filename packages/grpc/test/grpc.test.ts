import { createRequire } from 'node:module';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import {
  ChatError,
  type ChatEvent,
  type ChatServer,
  ChatService,
  type Config,
  SimulatedModel,
} from '@gtp/core';
import { testConfig } from '@gtp/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GrpcAdapter } from '../client.ts';
import type { ChatResponse__Output as ChatServerEvent__Output } from '../generated/genai/chat/v1/ChatResponse.ts';
import type { ChatServiceClient as ChatClient } from '../generated/genai/chat/v1/ChatService.ts';
import type { CreateSessionResponse__Output } from '../generated/genai/chat/v1/CreateSessionResponse.ts';
import type { GetServerStatsResponse__Output as ServerStats__Output } from '../generated/genai/chat/v1/GetServerStatsResponse.ts';
import type { GetSessionResponse__Output } from '../generated/genai/chat/v1/GetSessionResponse.ts';
import type { SendMessageResponse__Output as ChatReply__Output } from '../generated/genai/chat/v1/SendMessageResponse.ts';
import { createServer } from '../server.ts';
import { CHAT_SERVICE_NAME, ChatServiceClient, HealthClient, LOADER_OPTIONS } from '../src/proto.ts';

const MAX_MESSAGE_CHARS = 200;
const BODY_LIMIT_BYTES = 2_048;

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1_000; i++) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function start(overrides: Partial<Config> = {}): Promise<{ server: ChatServer; target: string }> {
  const server = await createServer({
    config: testConfig({
      maxMessageChars: MAX_MESSAGE_CHARS,
      bodyLimitBytes: BODY_LIMIT_BYTES,
      ...overrides,
    }),
  });
  return { server, target: await server.listen({ port: 0, host: '127.0.0.1' }) };
}

/** A unary call as a promise that rejects with the grpc ServiceError. */
function call<T>(run: (callback: grpc.requestCallback<T>) => unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    run((error, value) => (error ? reject(error) : resolve(value!)));
  });
}

/** The status a unary call failed with. */
async function failure(promise: Promise<unknown>): Promise<grpc.ServiceError> {
  try {
    await promise;
  } catch (error) {
    return error as grpc.ServiceError;
  }
  throw new Error('the call succeeded');
}

async function collect(events: AsyncIterable<ChatEvent>): Promise<ChatEvent[]> {
  const out: ChatEvent[] = [];
  for await (const event of events) out.push(event);
  return out;
}

describe('gRPC server: the session RPCs, SendMessage and StreamMessage', () => {
  let server: ChatServer;
  let target: string;
  let client: ChatClient;

  beforeAll(async () => {
    ({ server, target } = await start());
    client = new ChatServiceClient(target, grpc.credentials.createInsecure());
  });
  afterAll(async () => {
    client.close();
    await server.close();
  });

  it('creates, gets, lists, clears and deletes sessions', async () => {
    const created = (await call<CreateSessionResponse__Output>((cb) => client.createSession({}, cb)))
      .session!;
    expect(created.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.model?.provider).toBe('simulated');
    const got = (
      await call<GetSessionResponse__Output>((cb) => client.getSession({ sessionId: created.id }, cb))
    ).session!;
    expect(got.id).toBe(created.id);
    const listed = await call<{ sessions: { id: string }[] }>((cb) => client.listSessions({}, cb));
    expect(listed.sessions.map((s) => s.id)).toContain(created.id);

    await call((cb) => client.sendMessage({ sessionId: created.id, text: 'remember me' }, cb));
    const history = await call<{ messages: { role: string; text: string }[] }>((cb) =>
      client.getHistory({ sessionId: created.id }, cb),
    );
    expect(history.messages.map((m) => m.role)).toEqual(['ROLE_USER', 'ROLE_MODEL']);
    expect(history.messages[0]!.text).toBe('remember me');

    await call((cb) => client.clearHistory({ sessionId: created.id }, cb));
    const cleared = await call<{ messages: unknown[] }>((cb) =>
      client.getHistory({ sessionId: created.id }, cb),
    );
    expect(cleared.messages).toEqual([]);

    await call((cb) => client.deleteSession({ sessionId: created.id }, cb));
    const gone = await failure(call((cb) => client.getSession({ sessionId: created.id }, cb)));
    expect(gone.code).toBe(grpc.status.NOT_FOUND);
  });

  it('SendMessage answers the whole reply, and the model saw the history', async () => {
    const session = (await call<CreateSessionResponse__Output>((cb) => client.createSession({}, cb)))
      .session!;
    await call((cb) => client.sendMessage({ sessionId: session.id, text: 'first question' }, cb));
    const reply = await call<ChatReply__Output>((cb) =>
      client.sendMessage({ sessionId: session.id, text: 'second question' }, cb),
    );
    expect(reply.finishReason).toBe('FINISH_REASON_STOP');
    expect(reply.text).toContain('Turn 2');
    expect(reply.text).toContain('first question');
    expect(reply.usage?.outputTokens).toBeGreaterThan(0);
  });

  it('StreamMessage streams start, deltas in order, done; the oneof names each event', async () => {
    const session = (await call<CreateSessionResponse__Output>((cb) => client.createSession({}, cb)))
      .session!;
    const messages: ChatServerEvent__Output[] = [];
    for await (const message of client.streamMessage({ sessionId: session.id, text: 'stream please' })) {
      messages.push(message as ChatServerEvent__Output);
    }
    const kinds = messages.map((m) => m.event);
    expect(kinds[0]).toBe('start');
    expect(kinds.at(-1)).toBe('done');
    expect(kinds.slice(1, -1).every((k) => k === 'delta')).toBe(true);
    // A delta is its text: the call is one reply and each message has its seq, so DeltaEvent's
    // message_id and index stay empty (not on the wire); the seqs are consecutive.
    for (const m of messages.slice(1, -1)) expect(m.delta).toMatchObject({ messageId: '', index: 0 });
    const seqs = messages.map((m) => Number((m as unknown as { seq: string }).seq));
    expect(seqs).toEqual(seqs.map((_, i) => seqs[0]! + i));
    expect(messages.at(-1)!.done!.finishReason).toBe('FINISH_REASON_STOP');
  });

  it('GetServerStats has the /stats shape and counts the turns, bytes and errors', async () => {
    const stats = (await call<ServerStats__Output>((cb) =>
      client.getServerStats({}, cb),
    )) as unknown as Record<string, unknown>;
    expect(Object.keys(stats).sort()).toEqual(
      [
        'bytes',
        'connections',
        'errors',
        'latencyMs',
        'model',
        'protocol',
        'sessions',
        'streams',
        'turns',
        'uptimeSeconds',
      ].sort(),
    );
    expect(stats.protocol).toBe('grpc');
    expect((stats.turns as { completed: number }).completed).toBeGreaterThanOrEqual(3);
    expect(Number((stats.bytes as { sent: string }).sent)).toBeGreaterThan(0);
    expect(Number((stats.bytes as { received: string }).received)).toBeGreaterThan(0);
    expect(
      (stats.errors as { byCode: Record<string, number> }).byCode.session_not_found,
    ).toBeGreaterThanOrEqual(1);
  });
});

describe('gRPC errors: status codes with a message that says why', () => {
  let server: ChatServer;
  let target: string;
  let client: ChatClient;
  let sessionId: string;

  beforeAll(async () => {
    ({ server, target } = await start({ simTtftMs: 0, simTokenDelayMs: 20 }));
    client = new ChatServiceClient(target, grpc.credentials.createInsecure());
    sessionId = (await call<CreateSessionResponse__Output>((cb) => client.createSession({}, cb))).session!.id;
  });
  afterAll(async () => {
    client.close();
    await server.close();
  });

  it('unknown session → NOT_FOUND, on every RPC that names one', async () => {
    const id = '00000000-0000-4000-8000-000000000000';
    for (const run of [
      (cb: grpc.requestCallback<unknown>) => client.getSession({ sessionId: id }, cb),
      (cb: grpc.requestCallback<unknown>) => client.deleteSession({ sessionId: id }, cb),
      (cb: grpc.requestCallback<unknown>) => client.getHistory({ sessionId: id }, cb),
      (cb: grpc.requestCallback<unknown>) => client.clearHistory({ sessionId: id }, cb),
      (cb: grpc.requestCallback<unknown>) => client.sendMessage({ sessionId: id, text: 'hi' }, cb),
    ]) {
      const error = await failure(call(run));
      expect(error.code).toBe(grpc.status.NOT_FOUND);
      expect(error.details).toBe(`session ${id} does not exist`);
    }
    const stream = await failure(collect(new GrpcAdapter(target).send(id, 'hi')));
    expect(stream).toBeInstanceOf(ChatError);
    expect((stream as unknown as ChatError).code).toBe('session_not_found');
  });

  it('empty fields → INVALID_ARGUMENT', async () => {
    const noId = await failure(call((cb) => client.getSession({ sessionId: '' }, cb)));
    expect(noId.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(noId.details).toBe('session_id is required');
    const blank = await failure(call((cb) => client.sendMessage({ sessionId, text: '   ' }, cb)));
    expect(blank.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(blank.details).toBe('text must not be empty');
  });

  it('wrong field types (bytes that are not a valid message) → INTERNAL from the decoder, server survives', async () => {
    // A client with a different idea of the contract: sends a string where an int/message is expected.
    const raw = new grpc.Client(target, grpc.credentials.createInsecure());
    const garbage = Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]);
    const error = await failure(
      call((cb) =>
        raw.makeUnaryRequest(
          '/genai.chat.v1.ChatService/GetSession',
          (b: Buffer) => b,
          (b: Buffer) => b,
          garbage,
          cb,
        ),
      ),
    );
    raw.close();
    expect([grpc.status.INTERNAL, grpc.status.INVALID_ARGUMENT]).toContain(error.code);
    // The server is still there.
    await call((cb) => client.getSession({ sessionId }, cb));
  });

  it('over MAX_MESSAGE_CHARS → RESOURCE_EXHAUSTED saying the limit; over BODY_LIMIT_BYTES too', async () => {
    const long = await failure(
      call((cb) => client.sendMessage({ sessionId, text: 'x'.repeat(MAX_MESSAGE_CHARS + 1) }, cb)),
    );
    expect(long.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(long.details).toContain(`the limit is ${MAX_MESSAGE_CHARS} (MAX_MESSAGE_CHARS)`);
    const huge = await failure(
      call((cb) => client.sendMessage({ sessionId, text: 'x'.repeat(BODY_LIMIT_BYTES + 10) }, cb)),
    );
    expect(huge.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(huge.details).toMatch(/larger than max/i);
    // Nothing reached the history.
    const history = await call<{ messages: unknown[] }>((cb) => client.getHistory({ sessionId }, cb));
    expect(history.messages).toEqual([]);
  });

  it('busy session → FAILED_PRECONDITION, and the running reply is unharmed', async () => {
    const running = client.streamMessage({ sessionId, text: 'a long answer' });
    const events: ChatServerEvent__Output[] = [];
    running.on('data', (m: ChatServerEvent__Output) => events.push(m));
    const ended = new Promise((resolve) => running.on('end', resolve));
    await until(() => events.length > 0, 'the first reply to start');
    const busy = await failure(call((cb) => client.sendMessage({ sessionId, text: 'me too' }, cb)));
    expect(busy.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(busy.details).toContain('already replying');
    const clear = await failure(call((cb) => client.clearHistory({ sessionId }, cb)));
    expect(clear.code).toBe(grpc.status.FAILED_PRECONDITION);
    await ended;
    expect(events.at(-1)!.event).toBe('done');
  });

  it('the client adapter turns every status back into the ChatError code', async () => {
    const adapter = new GrpcAdapter(target);
    await expect(adapter.getSession('nope')).rejects.toMatchObject({ code: 'session_not_found' });
    await expect(collect(adapter.send(sessionId, ''))).rejects.toMatchObject({ code: 'invalid_request' });
    await expect(collect(adapter.send(sessionId, 'y'.repeat(MAX_MESSAGE_CHARS + 1)))).rejects.toMatchObject({
      code: 'payload_too_large',
    });
    await adapter.close();
    const nobody = new GrpcAdapter('127.0.0.1:1');
    await expect(nobody.listSessions()).rejects.toMatchObject({ code: 'unavailable' });
    await nobody.close();
  });
});

describe('gRPC model failure mid-reply', () => {
  it('streams an error event, then fails the call with INTERNAL (model_error is not retryable); the user turn is rolled back', async () => {
    const config = testConfig();
    const model = new SimulatedModel({ ttftMs: 0, tokenDelayMs: 0, failAfterTokens: 2 });
    const server = await createServer({ config, chat: ChatService.fromConfig(config, 'grpc', { model }) });
    const target = await server.listen({ port: 0, host: '127.0.0.1' });
    const client = new ChatServiceClient(target, grpc.credentials.createInsecure());
    const session = (await call<CreateSessionResponse__Output>((cb) => client.createSession({}, cb)))
      .session!;
    const stream = client.streamMessage({ sessionId: session.id, text: 'fail please' });
    const received: ChatServerEvent__Output[] = [];
    stream.on('data', (m: ChatServerEvent__Output) => received.push(m));
    const error = await new Promise<grpc.ServiceError>((resolve) => stream.on('error', resolve));
    expect(received.map((m) => m.event)).toEqual(['start', 'delta', 'delta', 'error']);
    expect(received.at(-1)!.error!.error).toMatchObject({ code: 'model_error' });
    expect(error.code).toBe(grpc.status.INTERNAL);
    expect(error.details).toContain('simulated model failure');
    const adapter = new GrpcAdapter(target);
    const events = await collect(adapter.send(session.id, 'again'));
    expect(events.at(-1)).toMatchObject({ type: 'error', error: { code: 'model_error' } });
    expect(await adapter.history(session.id)).toEqual([]);
    await adapter.close();
    client.close();
    await server.close();
  });
});

describe('gRPC cancellation: CancelReply and deadlines stop the model, the partial reply is kept', () => {
  let server: ChatServer;
  let target: string;
  let client: ChatClient;

  beforeAll(async () => {
    // Slow enough that a reply (about 40 tokens: 6 s) is still running when the test cancels it
    // or its deadline passes, however loaded the machine.
    ({ server, target } = await start({ simTtftMs: 0, simTokenDelayMs: 150 }));
    client = new ChatServiceClient(target, grpc.credentials.createInsecure());
  });
  afterAll(async () => {
    client.close();
    await server.close();
  });

  const history = (sessionId: string) =>
    call<{ messages: { role: string; text: string; interrupted: boolean }[] }>((cb) =>
      client.getHistory({ sessionId }, cb),
    );

  it('StreamMessage: call.cancel() after two deltas, then CancelReply, stops the model; the history keeps them, interrupted', async () => {
    const session = (await call<CreateSessionResponse__Output>((cb) => client.createSession({}, cb)))
      .session!;
    const stream = client.streamMessage({ sessionId: session.id, text: 'tell me everything' });
    let text = '';
    let deltas = 0;
    const status = new Promise<grpc.ServiceError>((resolve) => stream.on('error', resolve));
    stream.on('data', (m: ChatServerEvent__Output) => {
      if (m.event !== 'delta') return;
      text += m.delta!.text;
      if (++deltas === 2) stream.cancel();
    });
    expect((await status).code).toBe(grpc.status.CANCELLED);
    // A closed call alone leaves the reply its resume grace (test/cancel-reply.test.ts): the Stop is CancelReply.
    await call((cb) => client.cancelReply({ sessionId: session.id }, cb));
    await until(() => !server.chat.isReplying(session.id), 'the model to stop');
    const messages = (await history(session.id)).messages;
    expect(messages).toHaveLength(2);
    expect(messages[1]!.interrupted).toBe(true);
    expect(messages[1]!.text.startsWith(text)).toBe(true);
    expect(messages[1]!.text.length).toBeGreaterThan(0);
    const stats = await call<ServerStats__Output>((cb) => client.getServerStats({}, cb));
    expect(stats.turns?.cancelled).toBeGreaterThanOrEqual(1);
  });

  it('StreamMessage: a passed deadline stops the model the same way', async () => {
    const session = (await call<CreateSessionResponse__Output>((cb) => client.createSession({}, cb)))
      .session!;
    const stream = client.streamMessage(
      { sessionId: session.id, text: 'take your time' },
      // Room for a first delta on a loaded machine; the reply runs on well past it.
      { deadline: Date.now() + 1_000 },
    );
    const deltas: string[] = [];
    stream.on('data', (m: ChatServerEvent__Output) => m.event === 'delta' && deltas.push(m.delta!.text));
    const error = await new Promise<grpc.ServiceError>((resolve) => stream.on('error', resolve));
    expect(error.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    await until(() => !server.chat.isReplying(session.id), 'the model to stop');
    const messages = (await history(session.id)).messages;
    expect(messages[1]!.interrupted).toBe(true);
    // The full reply would have been longer than what arrived before the deadline.
    expect(deltas.length).toBeGreaterThan(0);
    expect(messages[1]!.text.startsWith(deltas.join(''))).toBe(true);
  });

  it('StreamMessage: a call closed before its deadline (grpc-js cancels on its own clock) still stops the model at the deadline', async () => {
    // The client's deadline timer may beat the server's (which starts when the headers arrive):
    // then the server sees a cancel before its deadline. The reply must not outlive the deadline.
    const session = (await call<CreateSessionResponse__Output>((cb) => client.createSession({}, cb)))
      .session!;
    const stream = client.streamMessage(
      { sessionId: session.id, text: 'no hurry' },
      { deadline: Date.now() + 1_000 },
    );
    const status = new Promise<grpc.ServiceError>((resolve) => stream.on('error', resolve));
    await new Promise<void>((resolve) => stream.once('data', () => resolve()));
    stream.cancel();
    expect((await status).code).toBe(grpc.status.CANCELLED);
    await until(() => !server.chat.isReplying(session.id), 'the model to stop');
    const messages = (await history(session.id)).messages;
    expect(messages[1]!.interrupted).toBe(true);
  });

  it('SendMessage (unary): a deadline stops the model too', async () => {
    const session = (await call<CreateSessionResponse__Output>((cb) => client.createSession({}, cb)))
      .session!;
    const error = await failure(
      call((cb) =>
        client.sendMessage({ sessionId: session.id, text: 'slowly' }, { deadline: Date.now() + 150 }, cb),
      ),
    );
    expect(error.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    await until(() => !server.chat.isReplying(session.id), 'the model to stop');
    const messages = (await history(session.id)).messages;
    expect(messages[1]?.interrupted).toBe(true);
  });

  it('the adapter: aborting the signal calls CancelReply, cancels the call, and the stream ends without done', async () => {
    const adapter = new GrpcAdapter(target);
    const session = await adapter.createSession();
    const controller = new AbortController();
    const events: ChatEvent[] = [];
    for await (const event of adapter.send(session.id, 'go on', { signal: controller.signal })) {
      events.push(event);
      if (event.type === 'delta') controller.abort();
    }
    expect(events.map((e) => e.type)).toEqual(['start', 'delta']);
    await until(() => !server.chat.isReplying(session.id), 'the model to stop');
    expect((await adapter.history(session.id))[1]).toMatchObject({ role: 'model', interrupted: true });
    await adapter.close();
  });
});

describe('gRPC bidi Chat: send, cancel, typing, ping on one stream', () => {
  let server: ChatServer;
  let target: string;
  let client: ChatClient;

  beforeAll(async () => {
    ({ server, target } = await start({ simTtftMs: 0, simTokenDelayMs: 5 }));
    client = new ChatServiceClient(target, grpc.credentials.createInsecure());
  });
  afterAll(async () => {
    client.close();
    await server.close();
  });

  /** A Chat stream with a queue of what the server sent. */
  function open() {
    const stream = client.chat();
    const received: ChatServerEvent__Output[] = [];
    stream.on('data', (m: ChatServerEvent__Output) => received.push(m));
    stream.on('error', () => undefined);
    const ended = new Promise<void>((resolve) => stream.on('end', resolve));
    return { stream, received, ended };
  }

  it('answers a ping with a pong echoing ts, handles send, then a second send, then ends on half-close', async () => {
    const session = (await call<CreateSessionResponse__Output>((cb) => client.createSession({}, cb)))
      .session!;
    const { stream, received, ended } = open();
    stream.write({ ping: { ts: '12345' } });
    await until(() => received.some((m) => m.event === 'pong'), 'the pong');
    expect(received[0]!.pong!.ts).toBe('12345');
    expect(Number(received[0]!.pong!.serverTs)).toBeGreaterThan(0);

    stream.write({ send: { sessionId: session.id, text: 'bidi one' } });
    await until(() => received.some((m) => m.event === 'done'), 'the first reply');
    stream.write({ send: { sessionId: session.id, text: 'bidi two' } });
    stream.end();
    await ended;
    const kinds = received.map((m) => m.event);
    expect(kinds.filter((k) => k === 'start')).toHaveLength(2);
    // The Chat stream multiplexes sessions and has no seq: each delta names its reply and place.
    const starts = received.filter((m) => m.event === 'start').map((m) => m.start!.messageId);
    for (const messageId of starts) {
      const pieces = received.filter((m) => m.event === 'delta' && m.delta!.messageId === messageId);
      expect(pieces.length).toBeGreaterThan(0);
      expect(pieces.map((m) => m.delta!.index)).toEqual([...pieces.keys()]);
    }
    expect(
      received.filter((m) => m.event === 'delta').every((m) => starts.includes(m.delta!.messageId)),
    ).toBe(true);
    expect(kinds.filter((k) => k === 'done')).toHaveLength(2);
    const history = await call<{ messages: { text: string }[] }>((cb) =>
      client.getHistory({ sessionId: session.id }, cb),
    );
    expect(history.messages).toHaveLength(4);
    expect(history.messages[3]!.text).toContain('bidi one');
  });

  it('cancel stops the reply (done cancelled, partial kept) and the stream stays open for more', async () => {
    const session = (await call<CreateSessionResponse__Output>((cb) => client.createSession({}, cb)))
      .session!;
    const { stream, received, ended } = open();
    stream.write({ send: { sessionId: session.id, text: 'a long one' } });
    await until(() => received.filter((m) => m.event === 'delta').length >= 2, 'two deltas');
    stream.write({ cancel: { sessionId: session.id } });
    await until(() => received.some((m) => m.event === 'done'), 'the done event');
    expect(received.find((m) => m.event === 'done')!.done!.finishReason).toBe('FINISH_REASON_CANCELLED');
    stream.write({ ping: { ts: '1' } });
    await until(() => received.some((m) => m.event === 'pong'), 'a pong after the cancel');
    stream.end();
    await ended;
    const history = await call<{ messages: { interrupted: boolean }[] }>((cb) =>
      client.getHistory({ sessionId: session.id }, cb),
    );
    expect(history.messages[1]!.interrupted).toBe(true);
  });

  it('a bad client event gets an error event and the stream survives', async () => {
    const { stream, received, ended } = open();
    stream.write({ send: { sessionId: 'no-such-session', text: 'hi' } });
    stream.write({ send: { sessionId: '', text: 'hi' } });
    stream.write({});
    stream.write({ ping: { ts: '7' } });
    await until(() => received.some((m) => m.event === 'pong'), 'the pong');
    await until(() => received.filter((m) => m.event === 'error').length === 3, 'three errors');
    const codes = received.filter((m) => m.event === 'error').map((m) => m.error!.error!.code);
    expect(codes.sort()).toEqual(['invalid_request', 'invalid_request', 'session_not_found']);
    stream.end();
    await ended;
  });

  it('typing is passed on to the other streams of the same session', async () => {
    const session = (await call<CreateSessionResponse__Output>((cb) => client.createSession({}, cb)))
      .session!;
    const a = open();
    const b = open();
    b.stream.write({ typing: { sessionId: session.id, active: false } }); // b joins the session
    a.stream.write({ ping: { ts: '0' } });
    b.stream.write({ ping: { ts: '0' } });
    await until(() => a.received.length > 0 && b.received.length > 0, 'both pongs');
    a.stream.write({ typing: { sessionId: session.id, active: true } });
    await until(() => b.received.some((m) => m.event === 'typing'), 'the typing event');
    const typing = b.received.find((m) => m.event === 'typing')!.typing!;
    expect(typing).toMatchObject({ sessionId: session.id, active: true });
    expect(typing.connectionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(a.received.some((m) => m.event === 'typing')).toBe(false);
    a.stream.end();
    b.stream.end();
    await Promise.all([a.ended, b.ended]);
  });

  it('cancelling the whole Chat call stops its reply', async () => {
    const session = (await call<CreateSessionResponse__Output>((cb) => client.createSession({}, cb)))
      .session!;
    const { stream, received } = open();
    stream.write({ send: { sessionId: session.id, text: 'never mind' } });
    await until(() => received.some((m) => m.event === 'delta'), 'a delta');
    stream.cancel();
    await until(() => !server.chat.isReplying(session.id), 'the model to stop');
    const history = await call<{ messages: { interrupted: boolean }[] }>((cb) =>
      client.getHistory({ sessionId: session.id }, cb),
    );
    expect(history.messages[1]!.interrupted).toBe(true);
  });

  it('the adapter pings over Chat', async () => {
    const adapter = new GrpcAdapter(target);
    const { roundTripMs, serverTs } = await adapter.ping();
    expect(roundTripMs).toBeGreaterThan(0);
    expect(serverTs).toBeGreaterThan(0);
    const ping = adapter.commands.find((command) => command.name === 'ping')!;
    expect(await ping.run([], { sessionId: undefined })).toMatch(/^pong in /);
    await adapter.close();
  });
});

describe('gRPC health, reflection and shutdown', () => {
  it('grpc.health.v1 answers SERVING, then NOT_SERVING once shutdown begins', async () => {
    const { server, target } = await start();
    const health = new HealthClient(target, grpc.credentials.createInsecure());
    for (const service of ['', CHAT_SERVICE_NAME]) {
      const answer = await call<{ status: string }>((cb) => health.check({ service }, cb));
      expect(answer.status).toBe('SERVING');
    }
    const unknown = await failure(call((cb) => health.check({ service: 'no.such.Service' }, cb)));
    expect(unknown.code).toBe(grpc.status.NOT_FOUND);

    const adapter = new GrpcAdapter(target);
    expect(await adapter.health()).toMatchObject({
      status: 'ok',
      protocol: 'grpc',
      model: { provider: 'simulated' },
    });
    await adapter.close();

    // Watch the status while the server shuts down.
    const watch = health.watch({ service: CHAT_SERVICE_NAME });
    const statuses: string[] = [];
    watch.on('data', (m: { status: string }) => statuses.push(m.status));
    watch.on('error', () => undefined);
    await until(() => statuses.length === 1, 'the first watch answer');
    const closed = server.close();
    await until(() => statuses.length === 2, 'the NOT_SERVING answer');
    expect(statuses).toEqual(['SERVING', 'NOT_SERVING']);
    watch.cancel(); // a watch never ends by itself; shutdown waits for open calls
    await closed;
    health.close();
  });

  it('reflection lists genai.chat.v1.ChatService and serves its file descriptor', async () => {
    const { server, target } = await start();
    // A real reflection client, from the reflection proto shipped in @grpc/reflection.
    const require = createRequire(import.meta.url);
    const reflectionProto = require
      .resolve('@grpc/reflection')
      .replace(/src[/\\]index\.js$/, 'proto/grpc/reflection/v1/reflection.proto');
    const loaded = grpc.loadPackageDefinition(
      protoLoader.loadSync(reflectionProto, LOADER_OPTIONS),
    ) as unknown as {
      grpc: { reflection: { v1: { ServerReflection: typeof grpc.Client } } };
    };
    const reflection = new loaded.grpc.reflection.v1.ServerReflection(
      target,
      grpc.credentials.createInsecure(),
    ) as grpc.Client & {
      serverReflectionInfo(): grpc.ClientDuplexStream<
        object,
        Record<string, { service?: { name: string }[]; fileDescriptorProto?: Buffer[] }>
      >;
    };
    const ask = (request: object) =>
      new Promise<Record<string, { service?: { name: string }[]; fileDescriptorProto?: Buffer[] }>>(
        (resolve, reject) => {
          const stream = reflection.serverReflectionInfo();
          stream.on('data', (answer) => {
            resolve(answer);
            stream.end();
          });
          stream.on('error', reject);
          stream.write(request);
        },
      );
    const list = await ask({ listServices: '' });
    const names = list.listServicesResponse!.service!.map((s) => s.name);
    expect(names).toContain(CHAT_SERVICE_NAME);
    expect(names).toContain('grpc.health.v1.Health');
    const file = await ask({ fileContainingSymbol: CHAT_SERVICE_NAME });
    const descriptor = Buffer.concat(file.fileDescriptorResponse!.fileDescriptorProto!).toString('latin1');
    expect(descriptor).toContain('StreamMessage');
    expect(descriptor).toContain('ChatRequest');
    expect(descriptor).toContain('ResumeStream');
    reflection.close();
    await server.close();
  });

  it('close() ends a reply in flight with done cancelled and a Chat stream with its end', async () => {
    const { server, target } = await start({ simTtftMs: 0, simTokenDelayMs: 30 });
    const client = new ChatServiceClient(target, grpc.credentials.createInsecure());
    const session = (await call<CreateSessionResponse__Output>((cb) => client.createSession({}, cb)))
      .session!;
    const streamed: ChatServerEvent__Output[] = [];
    const stream = client.streamMessage({ sessionId: session.id, text: 'are you there' });
    stream.on('data', (m: ChatServerEvent__Output) => streamed.push(m));
    const streamEnded = new Promise((resolve) => stream.on('end', resolve));
    const bidi = client.chat();
    bidi.on('data', () => undefined);
    const bidiEnded = new Promise((resolve) => bidi.on('end', resolve));
    bidi.write({ ping: { ts: '1' } });
    await until(() => streamed.some((m) => m.event === 'delta'), 'a delta');
    await server.close();
    await Promise.all([streamEnded, bidiEnded]);
    expect(streamed.at(-1)!.event).toBe('done');
    expect(streamed.at(-1)!.done!.finishReason).toBe('FINISH_REASON_CANCELLED');
    client.close();
  });
});
