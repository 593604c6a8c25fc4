/**
 * Bad input, per protocol: each gets its clear error (status and code, error frame, gRPC status),
 * and afterwards the server answers its health probe, a witness session's history is unchanged,
 * and, where the protocol keeps a connection (WebSocket, the gRPC Chat stream), that very
 * connection still answers a ping.
 */
import { randomUUID } from 'node:crypto';
import type { Message } from '@gtp/core';
import { testConfig } from '@gtp/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GrpcClient, grpc } from '../src/grpc.ts';
import { HttpJson } from '../src/http.ts';
import { type Client, eventually, type Running, target } from '../src/targets.ts';
import { WsClient } from '../src/ws.ts';

const MAX_CHARS = 100;
const BODY_LIMIT = 2_048;
/** Small limits so that "too large" is cheap; a paced model so that "busy" has time to happen. */
const config = () =>
  testConfig({ maxMessageChars: MAX_CHARS, bodyLimitBytes: BODY_LIMIT, simTokenDelayMs: 20 });

/** A session with one finished turn, whose history every bad input must leave as it is. */
async function witness(client: Client): Promise<{ id: string; history: Message[] }> {
  const id = await client.createSession();
  const events = await (await client.reply(id, 'the witness turn')).events.rest();
  expect(events.at(-1)).toMatchObject({ type: 'done', finishReason: 'stop' });
  return { id, history: await client.history(id) };
}

// --- The three HTTP chat routes: REST, Streamable HTTP, SSE ------------------------------------

interface HttpCase {
  name: string;
  /** Returns [status, code] of the answer. */
  send(api: HttpJson, sessionId: string): Promise<{ status: number; body: unknown }>;
  status: number;
  code: string;
}

const post = (api: HttpJson, path: string, body: unknown, headers?: Record<string, string>) =>
  api.call('POST', path, body, headers);

const HTTP_CASES: HttpCase[] = [
  {
    name: 'malformed JSON',
    send: (api, id) => post(api, `/sessions/${id}/messages`, '{"text": "unterminated'),
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'text of the wrong type',
    send: (api, id) => post(api, `/sessions/${id}/messages`, { text: 42 }),
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'no text at all',
    send: (api, id) => post(api, `/sessions/${id}/messages`, { message: 'hi' }),
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'a JSON array instead of an object',
    send: (api, id) => post(api, `/sessions/${id}/messages`, '["hi"]'),
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'blank text',
    send: (api, id) => post(api, `/sessions/${id}/messages`, { text: '  \n ' }),
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'a text over MAX_MESSAGE_CHARS',
    send: (api, id) => post(api, `/sessions/${id}/messages`, { text: 'x'.repeat(MAX_CHARS + 1) }),
    status: 413,
    code: 'payload_too_large',
  },
  {
    name: 'a body over BODY_LIMIT_BYTES',
    send: (api, id) => post(api, `/sessions/${id}/messages`, { text: 'x'.repeat(BODY_LIMIT * 2) }),
    status: 413,
    code: 'payload_too_large',
  },
  {
    name: 'a body that is not JSON (text/plain)',
    send: (api, id) => post(api, `/sessions/${id}/messages`, 'hello', { 'content-type': 'text/plain' }),
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'an unknown session',
    send: (api) => post(api, `/sessions/${randomUUID()}/messages`, { text: 'hello?' }),
    status: 404,
    code: 'session_not_found',
  },
  {
    name: 'a session id that is not a UUID',
    send: (api) => post(api, '/sessions/not-a-session/messages', { text: 'hello?' }),
    status: 404,
    code: 'session_not_found',
  },
  {
    name: 'an unknown route',
    send: (api) => post(api, '/sessions/messages', { text: 'hello?' }),
    status: 404,
    code: 'not_found',
  },
];

const SSE_CASES: HttpCase[] = [
  {
    name: 'the event stream of an unknown session',
    send: (api) => api.call('GET', `/sessions/${randomUUID()}/events`),
    status: 404,
    code: 'session_not_found',
  },
  {
    name: 'cancel in an unknown session',
    send: (api) => post(api, `/sessions/${randomUUID()}/cancel`, {}),
    status: 404,
    code: 'session_not_found',
  },
];

describe.each(['rest', 'streamable-http', 'sse'] as const)('%s: bad input', (protocol) => {
  let run: Running;
  let client: Client;
  let api: HttpJson;
  let seen: { id: string; history: Message[] };

  beforeAll(async () => {
    run = await target(protocol).start({ config: config() });
    client = run.client();
    api = new HttpJson(run.url);
    seen = await witness(client);
  });
  afterAll(async () => {
    await api.close();
    await run.close();
  });

  const cases = protocol === 'sse' ? [...HTTP_CASES, ...SSE_CASES] : HTTP_CASES;
  it.each(cases)('$name → $status $code; server and history survive', async ({ send, status, code }) => {
    const answer = await send(api, seen.id);
    expect(answer.status).toBe(status);
    expect(answer.body).toMatchObject({ error: { code, message: expect.any(String) } });
    expect(await client.health()).toBe(true);
    expect(await client.history(seen.id)).toEqual(seen.history);
  });

  it('a second message while a reply runs → 409 session_busy; the running reply is untouched', async () => {
    const id = await client.createSession();
    const first = await client.reply(id, 'a long answer, please');
    await eventually(
      () => client.stats(),
      (s) => s.streams.active === 1,
    );
    const second = await post(api, `/sessions/${id}/messages`, { text: 'me too' });
    expect(second.status).toBe(409);
    expect(second.body).toMatchObject({ error: { code: 'session_busy' } });
    const events = await first.events.rest();
    expect(events.at(-1)).toMatchObject({ type: 'done', finishReason: 'stop' });
    const history = await client.history(id);
    expect(history.map((m) => m.text.slice(0, 6))).toEqual(['a long', 'Turn 1']);
  });
});

// --- WebSocket: every bad frame is an `error` frame, and the connection stays open -------------

interface WsCase {
  name: string;
  frame: unknown;
  code: string;
  /** Whether the connection has joined the witness session first. */
  joined: boolean;
  message?: RegExp;
}

const WS_CASES: WsCase[] = [
  {
    name: 'malformed JSON',
    frame: '{"type": "send", ',
    code: 'invalid_request',
    joined: true,
    message: /JSON/,
  },
  { name: 'JSON that is not an object', frame: '42', code: 'invalid_request', joined: true },
  { name: 'a frame without a type', frame: { text: 'hi' }, code: 'invalid_request', joined: true },
  {
    name: 'an unknown frame type',
    frame: { type: 'shout', text: 'HI' },
    code: 'invalid_request',
    joined: true,
    message: /unknown frame type/,
  },
  {
    name: 'send with text of the wrong type',
    frame: { type: 'send', text: 5 },
    code: 'invalid_request',
    joined: true,
  },
  {
    name: 'send with blank text',
    frame: { type: 'send', text: '   ' },
    code: 'invalid_request',
    joined: true,
  },
  {
    name: 'send over MAX_MESSAGE_CHARS',
    frame: { type: 'send', text: 'x'.repeat(MAX_CHARS + 1) },
    code: 'payload_too_large',
    joined: true,
  },
  { name: 'a binary frame', frame: Buffer.from([1, 2, 3]), code: 'invalid_request', joined: true },
  {
    name: 'send before join',
    frame: { type: 'send', text: 'hello?' },
    code: 'invalid_request',
    joined: false,
    message: /join/,
  },
  { name: 'cancel before join', frame: { type: 'cancel' }, code: 'invalid_request', joined: false },
  {
    name: 'join an unknown session',
    frame: { type: 'join', sessionId: randomUUID() },
    code: 'session_not_found',
    joined: false,
  },
];

describe('websocket: bad input', () => {
  let run: Running;
  let client: Client;
  let seen: { id: string; history: Message[] };
  let wsUrl: string;
  const sockets: WsClient[] = [];
  const open = async () => {
    const ws = new WsClient(wsUrl);
    sockets.push(ws);
    await ws.opened;
    return ws;
  };

  beforeAll(async () => {
    run = await target('websocket').start({ config: config() });
    client = run.client();
    wsUrl = `${run.url.replace(/^http/, 'ws')}/ws`;
    seen = await witness(client);
  });
  afterAll(async () => {
    for (const ws of sockets) ws.close();
    await run.close();
  });

  it.each(WS_CASES)(
    '$name → error $code; the connection stays open',
    async ({ frame, code, joined, message }) => {
      const ws = await open();
      if (joined) await ws.join(seen.id);
      ws.send(frame);
      const error = await ws.next('error');
      expect(error).toMatchObject({ error: { code } });
      if (message) expect((error.error as { message: string }).message).toMatch(message);
      await ws.ping(); // the same connection still answers
      expect(ws.ws.readyState).toBe(ws.ws.OPEN);
      expect(await client.history(seen.id)).toEqual(seen.history);
      expect(await client.health()).toBe(true);
    },
  );

  it('a second send while a reply runs → error session_busy; the reply goes on', async () => {
    const ws = await open();
    await ws.join();
    ws.send({ type: 'send', text: 'a long answer, please' });
    const start = await ws.next('start');
    ws.send({ type: 'send', text: 'me too' });
    const busy = await ws.next('error');
    expect(busy).toMatchObject({ error: { code: 'session_busy' } });
    const done = await ws.next('done', (f) => f.messageId === start.messageId);
    expect(done.finishReason).toBe('stop');
    await ws.ping();
  });

  it('a frame over the size limit closes that connection with 1009; the server and others are fine', async () => {
    const bystander = await open();
    await bystander.join(seen.id);
    const ws = await open();
    // Past maxPayload (MAX_MESSAGE_CHARS × 6 + 1 KiB): refused while it is being read.
    ws.send({ type: 'send', text: 'x'.repeat(MAX_CHARS * 6 + 2_048) });
    expect((await ws.closed).code).toBe(1009);
    await bystander.ping();
    expect(await client.health()).toBe(true);
    expect(await client.history(seen.id)).toEqual(seen.history);
  });
});

// --- gRPC: status codes; the bidi Chat stream answers bad events with error events -------------

interface GrpcCase {
  name: string;
  request: (sessionId: string) => { sessionId: string; text: string };
  status: number;
  code: string;
}

const GRPC_CASES: GrpcCase[] = [
  {
    name: 'no session id',
    request: () => ({ sessionId: '', text: 'hi' }),
    status: grpc.status.INVALID_ARGUMENT,
    code: 'invalid_request',
  },
  {
    name: 'an unknown session',
    request: () => ({ sessionId: randomUUID(), text: 'hi' }),
    status: grpc.status.NOT_FOUND,
    code: 'session_not_found',
  },
  {
    name: 'blank text',
    request: (id) => ({ sessionId: id, text: ' ' }),
    status: grpc.status.INVALID_ARGUMENT,
    code: 'invalid_request',
  },
  {
    name: 'a text over MAX_MESSAGE_CHARS',
    request: (id) => ({ sessionId: id, text: 'x'.repeat(MAX_CHARS + 1) }),
    status: grpc.status.RESOURCE_EXHAUSTED,
    code: 'payload_too_large',
  },
  {
    name: 'a message over grpc.max_receive_message_length (BODY_LIMIT_BYTES)',
    request: (id) => ({ sessionId: id, text: 'x'.repeat(BODY_LIMIT * 2) }),
    status: grpc.status.RESOURCE_EXHAUSTED,
    code: 'RESOURCE_EXHAUSTED',
  },
];

describe('grpc: bad input', () => {
  let run: Running;
  let client: Client;
  let raw: GrpcClient;
  let seen: { id: string; history: Message[] };

  beforeAll(async () => {
    run = await target('grpc').start({ config: config() });
    client = run.client();
    raw = new GrpcClient(run.url);
    seen = await witness(client);
  });
  afterAll(async () => {
    raw.close();
    await run.close();
  });

  it.each(GRPC_CASES)('StreamMessage with $name → $status ($code)', async ({ request, status, code }) => {
    const { sessionId, text } = request(seen.id);
    const events = await raw.streamMessage(sessionId, text).queue.rest();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'error', grpcCode: status, error: { code } });
    expect(await client.health()).toBe(true);
    expect(await client.history(seen.id)).toEqual(seen.history);
  });

  it('bytes that are not a protobuf message → INTERNAL from grpc-js; the server survives', async () => {
    // 0xff… is an unterminated varint: no message decodes from it.
    const failure = await raw.rawUnary('SendMessage', Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff]));
    expect(failure?.code).toBe(grpc.status.INTERNAL);
    expect(await client.health()).toBe(true);
    expect(await client.history(seen.id)).toEqual(seen.history);
  });

  it('an unknown method → UNIMPLEMENTED', async () => {
    const failure = await raw.rawUnary('NoSuchMethod', Buffer.alloc(0));
    expect(failure?.code).toBe(grpc.status.UNIMPLEMENTED);
  });

  it('a second StreamMessage while a reply runs → FAILED_PRECONDITION; the first finishes', async () => {
    const id = await client.createSession();
    const first = raw.streamMessage(id, 'a long answer, please');
    await first.queue.until('delta');
    const second = await raw.streamMessage(id, 'me too').queue.rest();
    expect(second.at(-1)).toMatchObject({
      grpcCode: grpc.status.FAILED_PRECONDITION,
      error: { code: 'session_busy' },
    });
    expect((await first.queue.rest()).at(-1)).toMatchObject({ type: 'done', finishReason: 'stop' });
  });

  it('the Chat stream answers bad events with error events and stays open', async () => {
    const { call, next } = raw.chat();
    try {
      const ping = async () => {
        const ts = String(Math.floor(Math.random() * 1e9));
        call.write({ ping: { ts } });
        await next((f) => f.event === 'pong' && f.pong?.ts === ts);
      };
      const bad: [string, unknown, string][] = [
        ['an empty ChatClientEvent', {}, 'invalid_request'],
        ['send without a session id', { send: { sessionId: '', text: 'hi' } }, 'invalid_request'],
        [
          'send to an unknown session',
          { send: { sessionId: randomUUID(), text: 'hi' } },
          'session_not_found',
        ],
        ['send with blank text', { send: { sessionId: seen.id, text: '' } }, 'invalid_request'],
        [
          'send over MAX_MESSAGE_CHARS',
          { send: { sessionId: seen.id, text: 'x'.repeat(MAX_CHARS + 1) } },
          'payload_too_large',
        ],
        ['cancel without a session id', { cancel: { sessionId: '' } }, 'invalid_request'],
      ];
      for (const [name, event, code] of bad) {
        call.write(event);
        const frame = await next((f) => f.event === 'error');
        expect(frame.error?.error?.code, name).toBe(code);
        await ping();
      }
      expect(await client.history(seen.id)).toEqual(seen.history);
    } finally {
      call.end();
    }
  });
});
