/**
 * gRPC-Web and Connect (src/web.ts): the Connect JSON call by plain HTTP (undici), a gRPC-Web
 * stream from Node (connect-node's gRPC-Web transport and the generated protobuf-es client), and
 * auth and Origin refused as on the other transports, with ErrorInfo in the details.
 */
import { Code, ConnectError, createClient } from '@connectrpc/connect';
import { createGrpcWebTransport } from '@connectrpc/connect-node';
import type { Config } from '@gtp/core';
import { testConfig } from '@gtp/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { ChatService } from '../generated/es/genai/chat/v1/chat_pb.js';
import { ErrorInfoSchema } from '../generated/es/google/rpc/error_details_pb.js';
import { createServer, type GrpcChatServer } from '../server.ts';

const servers: GrpcChatServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(overrides: Partial<Config> = {}) {
  const server = await createServer({ config: testConfig(overrides) });
  servers.push(server);
  await server.listen({ port: 0, host: '127.0.0.1' });
  return server.webUrl!;
}

/** Node's fetch (undici inside): a plain HTTP POST, as curl sends it. */
const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });

describe('Connect protocol (JSON over plain HTTP, fetch)', () => {
  it('CreateSession then SendMessage with curl-style JSON', async () => {
    const base = await start();
    const created = await post(`${base}/genai.chat.v1.ChatService/CreateSession`, {});
    expect(created.status).toBe(200);
    const { session } = (await created.json()) as { session: { id: string } };
    const sent = await post(`${base}/genai.chat.v1.ChatService/SendMessage`, {
      sessionId: session.id,
      text: 'hi',
    });
    expect(sent.status).toBe(200);
    const reply = (await sent.json()) as { text: string; finishReason: string };
    expect(reply.finishReason).toBe('FINISH_REASON_STOP');
    expect(reply.text).toContain('"hi"');
  });

  it('an unknown session is 404 not_found with ErrorInfo session_not_found', async () => {
    const base = await start();
    const res = await post(`${base}/genai.chat.v1.ChatService/SendMessage`, {
      sessionId: 'nope',
      text: 'hi',
    });
    expect(res.status).toBe(404);
    const body = (await res.json()) as {
      code: string;
      details: { type: string; debug: { reason: string } }[];
    };
    expect(body.code).toBe('not_found');
    expect(body.details[0]).toMatchObject({
      type: 'google.rpc.ErrorInfo',
      debug: { reason: 'SESSION_NOT_FOUND' },
    });
  });

  it('without the token: unauthenticated; a cross-site Origin: permission_denied, even with it', async () => {
    const base = await start({ authToken: 'secret' });
    const bare = await post(`${base}/genai.chat.v1.ChatService/CreateSession`, {});
    expect(bare.status).toBe(401);
    expect(((await bare.json()) as { code: string }).code).toBe('unauthenticated');
    const ok = await post(
      `${base}/genai.chat.v1.ChatService/CreateSession`,
      {},
      { authorization: 'Bearer secret' },
    );
    expect(ok.status).toBe(200);
    await ok.arrayBuffer();
    const evil = await post(
      `${base}/genai.chat.v1.ChatService/CreateSession`,
      {},
      { authorization: 'Bearer secret', origin: 'http://evil.example' },
    );
    expect(evil.status).toBe(403);
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
    await evil.arrayBuffer();
  });

  it('the demo page and its files are open, as OPEN_UI_PATHS on the HTTP servers; the calls are not', async () => {
    const base = await start({ authToken: 'secret' });
    for (const path of ['/demo', '/demo.js', '/ui/ui.js', '/ui/ui.css', '/favicon.svg', '/health']) {
      const res = await fetch(`${base}${path}`);
      expect(res.status, path).toBe(200);
      await res.arrayBuffer();
    }
    const call = await post(`${base}/genai.chat.v1.ChatService/ListSessions`, {});
    expect(call.status).toBe(401);
    await call.arrayBuffer();
  });
});

describe('gRPC-Web from Node (connect-node transport, generated client)', () => {
  it('streams a reply with seqs, then a resume from the middle reads the rest', async () => {
    const base = await start();
    const client = createClient(ChatService, createGrpcWebTransport({ baseUrl: base, httpVersion: '1.1' }));
    const { session } = await client.createSession({});
    const events = [];
    for await (const message of client.streamMessage({ sessionId: session!.id, text: 'hello' }))
      events.push(message);
    expect(events[0]!.event.case).toBe('start');
    expect(events.at(-1)!.event.case).toBe('done');
    const messageId = (events[0]!.event.value as { messageId: string }).messageId;
    const rest = [];
    for await (const m of client.resumeStream({ sessionId: session!.id, messageId, after: events[1]!.seq }))
      rest.push(m);
    expect(rest.map((m) => m.seq)).toEqual(events.slice(2).map((m) => m.seq));
  });

  it('a refusal arrives as a ConnectError with its code and ErrorInfo', async () => {
    const base = await start();
    const client = createClient(ChatService, createGrpcWebTransport({ baseUrl: base, httpVersion: '1.1' }));
    const error = await client.getSession({ sessionId: 'nope' }).catch((e: unknown) => ConnectError.from(e));
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).code).toBe(Code.NotFound);
    expect((error as ConnectError).findDetails(ErrorInfoSchema)[0]?.metadata.code).toBe('session_not_found');
  });
});
