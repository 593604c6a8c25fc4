import { setTimeout as sleep } from 'node:timers/promises';
import { type ChatServer, ChatService, MemorySessionStore, type ModelProvider } from '@gtp/core';
import { testConfig } from '@gtp/core/testing';
import { request } from 'undici';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createServer } from '../server.ts';
import { CLOSE_CODES, maxPayloadBytes } from '../src/protocol.ts';
import { TestClient } from './ws-test-client.ts';

const servers: ChatServer[] = [];
const clients: TestClient[] = [];

async function start(options: Parameters<typeof createServer>[0] = {}) {
  // No leave grace: these tests check that a reply nobody reads is cancelled (resume.test.ts has the grace).
  const server = await createServer({ config: testConfig(), leaveGraceMs: 0, ...options });
  servers.push(server);
  const url = await server.listen({ port: 0 });
  return { server, url };
}

async function connect(url: string, options?: Parameters<typeof TestClient.connect>[1]) {
  const client = await TestClient.connect(url, options);
  clients.push(client);
  return client;
}

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe('two members in one session', () => {
  it('broadcasts the reply, the user message, typing to the others only, and presence', async () => {
    const { server, url } = await start();
    const a = await connect(url);
    const b = await connect(url);

    const joinedA = await a.join();
    const sessionId = joinedA.session.id;
    expect(await a.next('presence')).toMatchObject({
      connections: 1,
      connectionId: joinedA.connectionId,
      change: 'joined',
    });
    const joinedB = await b.join(sessionId);
    expect(joinedB.session.id).toBe(sessionId);
    expect(joinedB.connectionId).not.toBe(joinedA.connectionId);
    expect(await a.next('presence')).toMatchObject({
      connections: 2,
      connectionId: joinedB.connectionId,
      change: 'joined',
    });
    expect(await b.next('presence')).toMatchObject({ connections: 2 });

    // Typing goes to the others, never back to the sender.
    a.send({ type: 'typing', active: true });
    expect(await b.next('typing')).toEqual({
      type: 'typing',
      connectionId: joinedA.connectionId,
      active: true,
    });
    await a.sync();
    expect(a.frames.some((f) => f.type === 'typing')).toBe(false);

    // A asks; B sees what A said; both see the same reply stream.
    a.send({ type: 'send', text: 'hello from A' });
    const startA = await a.next('start');
    expect(startA).toMatchObject({ sessionId, connectionId: joinedA.connectionId });
    expect(await b.next('message')).toEqual({
      type: 'message',
      role: 'user',
      text: 'hello from A',
      connectionId: joinedA.connectionId,
    });
    expect(await b.next('start')).toEqual(startA);
    const replyA = await a.reply(startA.messageId);
    const replyB = await b.reply(startA.messageId);
    expect(replyA.end).toMatchObject({ type: 'done', finishReason: 'stop' });
    expect(replyB).toEqual(replyA);
    expect(replyA.text).toContain('hello from A');
    expect(a.frames.some((f) => f.type === 'message')).toBe(false); // no echo of one's own text

    const history = await server.chat.history(sessionId);
    expect(history.map((m) => m.role)).toEqual(['user', 'model']);
    expect(history[1]!.text).toBe(replyA.text);

    // Stats count both connections.
    const stats = await server.chat.snapshot();
    expect(stats.connections.active).toBe(2);

    // B leaves: A hears it.
    b.ws.close();
    expect(await a.next('presence', (f) => f.change === 'left')).toMatchObject({
      connections: 1,
      connectionId: joinedB.connectionId,
    });
    await vi.waitFor(async () => expect((await server.chat.snapshot()).connections.active).toBe(1));
  });

  it('lets any member cancel the reply; everyone gets done (cancelled) and the partial text is kept', async () => {
    const { server, url } = await start({ config: testConfig({ simTokenDelayMs: 20 }) });
    const a = await connect(url);
    const b = await connect(url);
    const { session } = await a.join();
    await b.join(session.id);

    a.send({ type: 'send', text: 'a long answer please' });
    const { messageId } = await b.next('start');
    await b.next('delta');
    b.send({ type: 'cancel' });
    const replyA = await a.reply(messageId);
    expect(replyA.end).toMatchObject({ type: 'done', finishReason: 'cancelled' });
    const endB = await b.next('done', (f) => f.messageId === messageId);
    expect(endB.finishReason).toBe('cancelled');

    const history = await server.chat.history(session.id);
    expect(history.at(-1)).toMatchObject({ role: 'model', interrupted: true });
    // The connection and session survive: a new turn works.
    a.send({ type: 'send', text: 'again' });
    const next = await a.next('start', (f) => f.messageId !== messageId);
    expect((await a.reply(next.messageId)).end).toMatchObject({ finishReason: 'stop' });
    // Cancel with nothing running is a no-op, not an error.
    a.send({ type: 'cancel' });
    await a.sync();
    expect(a.frames.some((f) => f.type === 'error')).toBe(false);
  });
});

describe('a reply and its audience', () => {
  it('continues while any member listens, even when the asker leaves', async () => {
    const { url } = await start({ config: testConfig({ simTokenDelayMs: 10 }) });
    const asker = await connect(url);
    const listener = await connect(url);
    const { session } = await asker.join();
    await listener.join(session.id);

    asker.send({ type: 'send', text: 'tell me something' });
    const { messageId } = await listener.next('start');
    await listener.next('delta');
    asker.close();
    const reply = await listener.reply(messageId);
    expect(reply.end).toMatchObject({ type: 'done', finishReason: 'stop' });
    // A delta frame is its seq, its type and its text: the reply is the start's, seq orders it.
    const deltas = listener.frames.filter((f) => f.type === 'delta');
    expect(deltas.length).toBeGreaterThan(0);
    for (const f of deltas) expect(Object.keys(f)).toEqual(['seq', 'type', 'text']);
  });

  it('is aborted when the last member vanishes mid-reply', async () => {
    const { server, url } = await start({ config: testConfig({ simTokenDelayMs: 20 }) });
    const only = await connect(url);
    const { session } = await only.join();
    only.send({ type: 'send', text: 'nobody will read this' });
    await only.next('start');
    await only.next('delta');
    expect(server.chat.isReplying(session.id)).toBe(true);
    only.close(); // terminate: no close handshake, like a lost network

    await vi.waitFor(() => expect(server.chat.isReplying(session.id)).toBe(false));
    const history = await server.chat.history(session.id);
    expect(history.at(-1)).toMatchObject({ role: 'model', interrupted: true });
    expect((await server.chat.snapshot()).turns.cancelled).toBe(1);
  });
});

describe('bad input', () => {
  it('answers every bad frame with an error frame and keeps the connection open', async () => {
    const { server, url } = await start();
    const c = await connect(url);
    const expectError = async (frame: unknown, code: string, message: RegExp) => {
      c.send(frame);
      const error = await c.next('error');
      expect(error.error.code).toBe(code);
      expect(error.error.message).toMatch(message);
      expect(error.messageId).toBeUndefined();
      await c.sync(); // still open and answering
    };

    await expectError('{not json', 'invalid_request', /malformed JSON/);
    await expectError('[1,2]', 'invalid_request', /JSON object with a string "type"/);
    await expectError({ type: 'dance' }, 'invalid_request', /unknown frame type "dance"/);
    await expectError({ type: 'send', text: 42 }, 'invalid_request', /text/);
    await expectError({ type: 'typing', active: 'yes' }, 'invalid_request', /active/);
    await expectError({ type: 'send', text: 'hi' }, 'invalid_request', /join a session first/);
    await expectError({ type: 'typing', active: true }, 'invalid_request', /join a session first/);
    await expectError(
      { type: 'join', sessionId: '00000000-0000-4000-8000-000000000000' },
      'session_not_found',
      /does not exist/,
    );
    c.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    expect((await c.next('error')).error.message).toMatch(/binary frames/);

    const { session } = await c.join();
    await expectError({ type: 'send', text: '   ' }, 'invalid_request', /empty/);
    const tooLong = 'x'.repeat(server.chat.maxMessageChars + 1);
    await expectError({ type: 'send', text: tooLong }, 'payload_too_large', /MAX_MESSAGE_CHARS/);

    // After all that, the session works and its history is intact.
    c.send({ type: 'send', text: 'finally a good one' });
    const { messageId } = await c.next('start');
    expect((await c.reply(messageId)).end).toMatchObject({ finishReason: 'stop' });
    expect(await server.chat.history(session.id)).toHaveLength(2);
    expect((await server.chat.snapshot()).errors.byCode.invalid_request).toBeGreaterThanOrEqual(8);
  });

  it('closes an over-size frame with 1009', async () => {
    const config = testConfig({ maxMessageChars: 100 });
    const { url } = await start({ config });
    const c = await connect(url);
    c.send({ type: 'send', text: 'x'.repeat(maxPayloadBytes(config.maxMessageChars) + 1) });
    const closed = await c.closed;
    expect(closed.code).toBe(CLOSE_CODES.MESSAGE_TOO_BIG);
    // The server itself is fine.
    const other = await connect(url);
    await other.sync();
  });

  it('answers a plain GET /ws with 426 and refuses upgrades elsewhere', async () => {
    const { url } = await start();
    const plain = await request(`${url}/ws`);
    expect(plain.statusCode).toBe(426);
    expect(await plain.body.json()).toMatchObject({ error: { code: 'invalid_request' } });
    await expect(TestClient.connect(url.replace(/$/, '/elsewhere'))).rejects.toThrow(/404/);
  });
});

describe('heartbeat', () => {
  it('terminates a peer that stops answering pings, and keeps the live ones', async () => {
    const { server, url } = await start({ config: testConfig({ heartbeatMs: 50 }) });
    const live = await connect(url);
    const dead = await connect(url, { autoPong: false });
    const { session } = await live.join();
    await dead.join(session.id);
    await live.next('presence', (f) => f.connections === 2);

    const closed = await dead.closed;
    expect(closed.code).toBe(1006); // terminated: no close frame
    expect(await live.next('presence', (f) => f.change === 'left')).toMatchObject({ connections: 1 });
    await live.sync();
    await vi.waitFor(async () => expect((await server.chat.snapshot()).connections.active).toBe(1));
  });
});

describe('backpressure', () => {
  it('cuts off a consumer that cannot keep up while the others keep streaming', async () => {
    const CHUNK = 'x'.repeat(64 * 1024);
    const CHUNKS = 400; // 25 MiB: more than the loopback socket buffers hold
    const firehose: ModelProvider = {
      info: { provider: 'simulated', id: 'firehose' },
      async *stream(_history, { signal } = {}) {
        for (let i = 0; i < CHUNKS; i++) {
          signal?.throwIfAborted();
          await sleep(0);
          yield CHUNK;
        }
        return { finishReason: 'stop' as const };
      },
    };
    // The whole firehose must fit in one reply: this test is about the send buffer, not MAX_REPLY_CHARS.
    const maxReplyChars = 2 * CHUNK.length * CHUNKS;
    const config = testConfig({ maxReplyChars });
    const chat = new ChatService({ store: new MemorySessionStore(), model: firehose, maxReplyChars });
    const { url } = await start({ config, chat, maxBufferedBytes: 1024 * 1024 });
    const fast = await connect(url);
    const slow = await connect(url);
    const { session } = await fast.join();
    const slowJoined = await slow.join(session.id);
    await fast.next('presence', (f) => f.connections === 2);
    slow.ws.pause(); // stop reading: the server's send buffer for it fills up

    fast.send({ type: 'send', text: 'flood' });
    const { messageId } = await fast.next('start');
    // The server drops the slow member from the room as soon as it cuts it off…
    const left = await fast.next('presence', (f) => f.change === 'left');
    expect(left.connectionId).toBe(slowJoined.connectionId);
    slow.ws.resume();
    // …and the slow client, once it reads again, finds the close code and reason.
    const closed = await slow.closed;
    expect(closed.code).toBe(CLOSE_CODES.TRY_AGAIN_LATER);
    expect(closed.reason).toMatch(/slow consumer/);
    // The fast member got the whole reply.
    const reply = await fast.reply(messageId);
    expect(reply.end).toMatchObject({ type: 'done', finishReason: 'stop' });
    expect(reply.deltas).toBe(CHUNKS);
  });
});

describe('graceful shutdown', () => {
  it('ends the reply in flight with done (cancelled), then closes with 1001', async () => {
    const { server, url } = await start({ config: testConfig({ simTokenDelayMs: 20 }) });
    const c = await connect(url);
    await c.join();
    c.send({ type: 'send', text: 'still talking when the server stops' });
    const { messageId } = await c.next('start');
    await c.next('delta');
    await server.close();
    const done = await c.next('done', (f) => f.messageId === messageId);
    expect(done.finishReason).toBe('cancelled');
    expect((await c.closed).code).toBe(CLOSE_CODES.GOING_AWAY);
  });
});
