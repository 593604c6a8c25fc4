/**
 * GET /asyncapi.json: an AsyncAPI 3 document that @asyncapi/parser accepts without a single
 * diagnostic, with every client frame as a message the server receives and every server frame
 * as one it sends; linked from the OpenAPI document behind /docs; and the frames a real session
 * carries match the schemas the document is generated from, field for field.
 */
import { Parser } from '@asyncapi/parser';
import type { ChatServer } from '@gtp/core';
import { API_VERSION } from '@gtp/core/http';
import { testConfig } from '@gtp/core/testing';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { createServer } from '../server.ts';
import type { AsyncApiDocument } from '../src/asyncapi.ts';
import { ClientFrameSchema, type ServerFrame, ServerFrameSchema } from '../src/protocol.ts';
import { TestClient } from './ws-test-client.ts';

const servers: ChatServer[] = [];
const clients: TestClient[] = [];

async function start() {
  const server = await createServer({ config: testConfig(), leaveGraceMs: 0 });
  servers.push(server);
  return server.listen({ port: 0 });
}

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

const clientTypes = ClientFrameSchema.options.map((option) => option.shape.type.value);
const serverTypes = ServerFrameSchema.options.map((option) => option.shape.type.value);

describe('GET /asyncapi.json', () => {
  it('is an AsyncAPI 3 document the parser accepts, with every frame as a message', async () => {
    const url = await start();
    const response = await request(`${url}/asyncapi.json`, { signal: AbortSignal.timeout(10_000) });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    const raw = (await response.body.json()) as AsyncApiDocument;

    const { document, diagnostics } = await new Parser().parse(raw);
    // No errors, and not even a warning or a hint.
    expect(diagnostics.map((d) => `${d.severity} ${d.code}: ${d.message} at ${d.path.join('.')}`)).toEqual(
      [],
    );
    expect(document).toBeDefined();
    if (!document) return;
    expect(document.version()).toMatch(/^3\./);
    expect(document.info().version()).toBe(API_VERSION);
    const servers = document.servers().all();
    expect(servers.map((s) => [s.host(), s.protocol()])).toEqual([[new URL(url).host, 'ws']]);
    expect(
      document
        .channels()
        .all()
        .map((c) => c.address()),
    ).toEqual(['/ws']);

    // What the server receives and what it sends, read back through the parser's model.
    const typesOf = (action: 'receive' | 'send') =>
      document
        .operations()
        .all()
        .filter((operation) => operation.action() === action)
        .flatMap((operation) => operation.messages().all())
        .map((message) => message.payload()?.properties()?.type?.const());
    expect(new Set(typesOf('receive'))).toEqual(new Set(clientTypes));
    expect(new Set(typesOf('send'))).toEqual(new Set(serverTypes));
    expect(document.allMessages().all()).toHaveLength(clientTypes.length + serverTypes.length);
    for (const message of document.allMessages().all()) {
      expect(message.name(), 'each message is named for its frame type').toBe(
        message.payload()?.properties()?.type?.const(),
      );
      expect(message.summary(), `${message.name()} has a summary`).toBeTruthy();
    }

    // The replies a client can wait for: join → joined, ping → pong, share → shared.
    const reply = (id: string) =>
      document
        .operations()
        .get(id)
        ?.reply()
        ?.messages()
        .all()
        .map((m) => m.name());
    expect([reply('receiveJoin'), reply('receivePing'), reply('receiveShare')]).toEqual([
      ['joined'],
      ['pong'],
      ['shared'],
    ]);
  }, 60_000); // the parser's first run (its ruleset) takes seconds on a busy machine

  it('is linked from the OpenAPI document that /docs shows, and documented there', async () => {
    const url = await start();
    const response = await request(`${url}/openapi.json`, { signal: AbortSignal.timeout(10_000) });
    const openapi = (await response.body.json()) as {
      info: { description: string };
      paths: Record<string, { get?: { operationId?: string } }>;
    };
    expect(openapi.info.description).toContain('(/asyncapi.json)');
    expect(openapi.paths['/asyncapi.json']?.get?.operationId).toBe('getAsyncApi');
  });

  it('describes the frames a real session carries, field for field', async () => {
    const url = await start();
    const a = await TestClient.connect(url);
    const b = await TestClient.connect(url);
    clients.push(a, b);
    const { session } = await a.join();
    await b.join(session.id);
    b.send({ type: 'typing', active: true });
    b.send({ type: 'send', text: 'hello' });
    const { messageId } = await a.next('start');
    await a.reply(messageId);
    a.send({ type: 'share', principal: 'someone-else' });
    await a.next('shared');
    a.send({ type: 'no-such-frame' });
    await a.next('error');
    await a.sync();

    const seen = new Set(a.frames.map((frame) => frame.type));
    for (const type of [
      'joined',
      'presence',
      'typing',
      'message',
      'start',
      'delta',
      'done',
      'shared',
      'error',
      'pong',
    ]) {
      expect(seen, `a real session sent a ${type} frame`).toContain(type);
    }
    for (const frame of a.frames) {
      const schema = ServerFrameSchema.options.find((option) => option.shape.type.value === frame.type);
      expect(schema, `${frame.type} is a documented frame`).toBeDefined();
      expect(ServerFrameSchema.safeParse(frame).error).toBeUndefined();
      // No field the document does not name (zod would strip it silently).
      const undocumented = Object.keys(frame).filter((key) => !(key in (schema?.shape ?? {})));
      expect(undocumented, `${JSON.stringify(frame)} fields`).toEqual([]);
    }
    const replyFrames = a.frames.filter(
      (f): f is Extract<ServerFrame, { type: 'start' | 'delta' | 'done' }> =>
        f.type === 'start' || f.type === 'delta' || f.type === 'done',
    );
    expect(replyFrames.every((f) => Number.isInteger(f.seq) && f.seq > 0)).toBe(true);
  });
});
