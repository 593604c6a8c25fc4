import { PassThrough } from 'node:stream';
import {
  ChatError,
  type ChatEvent,
  type ChatServer,
  ChatService,
  type Config,
  SimulatedModel,
} from '@gtp/core';
import { Shell } from '@gtp/core/cli';
import { testConfig } from '@gtp/core/testing';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RestAdapter } from '../client.ts';
import { createServer } from '../server.ts';

const MAX_MESSAGE_CHARS = 200;
const BODY_LIMIT_BYTES = 2_048;

/** Wait for a condition the test cannot await directly (a reply running on the server). */
async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1_000; i++) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function collect(events: AsyncIterable<ChatEvent>): Promise<ChatEvent[]> {
  const out: ChatEvent[] = [];
  for await (const event of events) out.push(event);
  return out;
}

async function start(overrides: Partial<Config> = {}): Promise<{ server: ChatServer; url: string }> {
  const server = await createServer({
    config: testConfig({
      maxMessageChars: MAX_MESSAGE_CHARS,
      bodyLimitBytes: BODY_LIMIT_BYTES,
      ...overrides,
    }),
  });
  const url = await server.listen({ port: 0, host: '127.0.0.1' });
  return { server, url };
}

/** A raw POST of the chat route, for what the adapter would never send. */
async function postMessage(url: string, sessionId: string, body: string, contentType = 'application/json') {
  const response = await request(`${url}/sessions/${sessionId}/messages`, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body,
  });
  return { status: response.statusCode, body: (await response.body.json()) as Record<string, unknown> };
}

describe('REST server with the REST client adapter', () => {
  let server: ChatServer;
  let url: string;
  let client: RestAdapter;

  beforeAll(async () => {
    ({ server, url } = await start());
    client = new RestAdapter(url);
  });
  afterAll(async () => {
    await client.close();
    await server.close();
  });

  it('holds a multi-turn conversation, each reply as start, ONE delta, done', async () => {
    const session = await client.createSession();
    const first = await collect(client.send(session.id, 'What is REST?'));
    expect(first.map((e) => e.type)).toEqual(['start', 'delta', 'done']);
    const second = await collect(client.send(session.id, 'And when is it a bad fit?'));
    expect(second.map((e) => e.type)).toEqual(['start', 'delta', 'done']);

    const text = (events: ChatEvent[]) => events.find((e) => e.type === 'delta')?.text ?? '';
    expect(text(first)).toContain('Turn 1');
    // The model saw the history: the second reply quotes the first question.
    expect(text(second)).toContain('Turn 2');
    expect(text(second)).toContain('What is REST?');
    const done = second.at(-1);
    expect(done).toMatchObject({ type: 'done', finishReason: 'stop' });
    if (done?.type === 'done') expect(done.usage.outputTokens).toBeGreaterThan(0);

    expect(await client.history(session.id)).toEqual([
      { role: 'user', text: 'What is REST?' },
      { role: 'model', text: text(first) },
      { role: 'user', text: 'And when is it a bad fit?' },
      { role: 'model', text: text(second) },
    ]);
    expect(client.bytesReceived()).toBeGreaterThan(0);
  });

  it('yields nothing until the whole reply exists on the server', async () => {
    const { server: paced, url: pacedUrl } = await start({ simTtftMs: 20, simTokenDelayMs: 5 });
    const pacedClient = new RestAdapter(pacedUrl);
    try {
      const session = await pacedClient.createSession();
      const seen: { type: string; replying: boolean; messages: number }[] = [];
      for await (const event of pacedClient.send(session.id, 'hello')) {
        const messages = (await paced.chat.history(session.id)).length;
        seen.push({ type: event.type, replying: paced.chat.isReplying(session.id), messages });
      }
      // Even `start` arrives after the turn finished and the model's answer is in the history.
      expect(seen.map((s) => s.type)).toEqual(['start', 'delta', 'done']);
      for (const s of seen) expect(s).toMatchObject({ replying: false, messages: 2 });
    } finally {
      await pacedClient.close();
      await paced.close();
    }
  });

  it('serves every session route', async () => {
    const health = await client.health();
    expect(health).toMatchObject({ status: 'ok', protocol: 'rest', model: { provider: 'simulated' } });

    const session = await client.createSession();
    expect(session).toMatchObject({ messageCount: 0, model: { provider: 'simulated' } });
    expect(await client.getSession(session.id)).toEqual(session);
    expect((await client.listSessions()).map((s) => s.id)).toContain(session.id);

    await collect(client.send(session.id, 'remember me'));
    expect((await client.getSession(session.id)).messageCount).toBe(2);
    expect(await client.history(session.id)).toHaveLength(2);

    await client.clearHistory(session.id);
    expect(await client.history(session.id)).toEqual([]);

    await client.deleteSession(session.id);
    await expect(client.getSession(session.id)).rejects.toMatchObject({ code: 'session_not_found' });
    expect((await client.listSessions()).map((s) => s.id)).not.toContain(session.id);

    const stats = await client.stats();
    expect(stats.protocol).toBe('rest');
    expect(stats.turns.completed).toBeGreaterThan(0);
    expect(stats.bytes.sent).toBeGreaterThan(0);
    expect(stats.bytes.received).toBeGreaterThan(0);
  });

  it('documents every route, errors included, and serves Swagger UI at /docs', async () => {
    const response = await request(`${url}/openapi.json`);
    const doc = (await response.body.json()) as {
      openapi: string;
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
    };
    expect(doc.openapi).toMatch(/^3\./);
    const chatRoute = doc.paths['/sessions/{id}/messages']?.post;
    expect(Object.keys(chatRoute?.responses ?? {})).toEqual(
      expect.arrayContaining(['200', '400', '404', '409', '413', '502']),
    );
    for (const path of ['/health', '/stats', '/sessions', '/sessions/{id}', '/sessions/{id}/messages']) {
      expect(doc.paths).toHaveProperty([path]);
    }

    const docs = await request(client.docsUrl);
    expect(docs.statusCode).toBe(200);
    expect(docs.headers['content-type']).toContain('text/html');
    expect(await docs.body.text()).toContain('swagger');
  });

  describe('bad input', () => {
    /** Every refusal must leave the history as it was and the server healthy. */
    async function expectUnchanged(sessionId: string, before: unknown) {
      expect(await client.history(sessionId)).toEqual(before);
      expect((await client.health()).status).toBe('ok');
    }

    it('answers 404 session_not_found for an unknown session', async () => {
      await expect(collect(client.send('00000000-0000-4000-8000-000000000000', 'hi'))).rejects.toMatchObject({
        code: 'session_not_found',
      });
      const raw = await postMessage(url, 'not-a-session', JSON.stringify({ text: 'hi' }));
      expect(raw).toMatchObject({ status: 404, body: { error: { code: 'session_not_found' } } });
      expect((await client.listSessions()).map((s) => s.id)).not.toContain('not-a-session');
    });

    it('answers 400 invalid_request for malformed JSON and wrong types', async () => {
      const session = await client.createSession();
      await collect(client.send(session.id, 'first'));
      const before = await client.history(session.id);

      for (const body of ['{"text":', '{"text": 42}', '{}', '{"text": ["a"]}', '[]', '{"text": "   "}']) {
        const raw = await postMessage(url, session.id, body);
        expect(raw, body).toMatchObject({ status: 400, body: { error: { code: 'invalid_request' } } });
      }
      const notJson = await postMessage(url, session.id, 'text=hi', 'text/plain');
      expect(notJson).toMatchObject({ status: 400, body: { error: { code: 'invalid_request' } } });
      await expect(collect(client.send(session.id, ' '))).rejects.toMatchObject({ code: 'invalid_request' });
      await expectUnchanged(session.id, before);
    });

    it('answers 413 over MAX_MESSAGE_CHARS and over the body limit', async () => {
      const session = await client.createSession();
      await collect(client.send(session.id, 'first'));
      const before = await client.history(session.id);

      const overChars = await postMessage(
        url,
        session.id,
        JSON.stringify({ text: 'x'.repeat(MAX_MESSAGE_CHARS + 1) }),
      );
      expect(overChars).toMatchObject({ status: 413, body: { error: { code: 'payload_too_large' } } });
      expect(JSON.stringify(overChars.body)).toContain('MAX_MESSAGE_CHARS');

      const overBody = await postMessage(
        url,
        session.id,
        JSON.stringify({ text: 'x'.repeat(BODY_LIMIT_BYTES) }),
      );
      expect(overBody).toMatchObject({ status: 413, body: { error: { code: 'payload_too_large' } } });

      await expect(collect(client.send(session.id, 'y'.repeat(MAX_MESSAGE_CHARS + 1)))).rejects.toMatchObject(
        { code: 'payload_too_large' },
      );
      // Exactly at the limit is accepted.
      const atLimit = await collect(client.send(session.id, 'z'.repeat(MAX_MESSAGE_CHARS)));
      expect(atLimit.at(-1)).toMatchObject({ type: 'done', finishReason: 'stop' });
      expect(await client.history(session.id)).toHaveLength(before.length + 2);
    });
  });

  it('answers 409 session_busy to a second message while a reply is running', async () => {
    const { server: paced, url: pacedUrl } = await start({ simTtftMs: 50, simTokenDelayMs: 5 });
    const pacedClient = new RestAdapter(pacedUrl);
    try {
      const session = await pacedClient.createSession();
      const first = collect(pacedClient.send(session.id, 'the first question'));
      await until(() => paced.chat.isReplying(session.id), 'the first reply to start');
      const second = await postMessage(pacedUrl, session.id, JSON.stringify({ text: 'the second question' }));
      expect(second).toMatchObject({ status: 409, body: { error: { code: 'session_busy' } } });

      expect((await first).at(-1)).toMatchObject({ type: 'done', finishReason: 'stop' });
      const history = await pacedClient.history(session.id);
      expect(history.map((m) => m.text).filter((t) => t.includes('second question'))).toEqual([]);
      expect(history).toHaveLength(2);
      // The session works again once the first reply is done.
      expect((await collect(pacedClient.send(session.id, 'now the second'))).at(-1)).toMatchObject({
        type: 'done',
      });
    } finally {
      await pacedClient.close();
      await paced.close();
    }
  });

  it('stops the model when the client disconnects, keeping the partial reply', async () => {
    const { server: paced, url: pacedUrl } = await start({ simTtftMs: 0, simTokenDelayMs: 20 });
    const pacedClient = new RestAdapter(pacedUrl);
    try {
      const session = await pacedClient.createSession();
      const controller = new AbortController();
      const pending = collect(
        pacedClient.send(session.id, 'a long answer please', { signal: controller.signal }),
      );
      await until(() => paced.chat.isReplying(session.id), 'the reply to start');
      controller.abort();
      await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
      await until(() => !paced.chat.isReplying(session.id), 'the model to stop');

      const history = await pacedClient.history(session.id);
      expect(history).toHaveLength(2);
      expect(history[1]).toMatchObject({ role: 'model', interrupted: true });
      const stats = await pacedClient.stats();
      expect(stats.turns).toMatchObject({ completed: 0, cancelled: 1 });
      expect(stats.streams.active).toBe(0);
      // The session is usable again at once.
      expect((await collect(pacedClient.send(session.id, 'again'))).map((e) => e.type)).toEqual([
        'start',
        'delta',
        'done',
      ]);
    } finally {
      await pacedClient.close();
      await paced.close();
    }
  });

  it('cancels from the shell (Ctrl+C) by closing the request; the shell says so', async () => {
    const { server: paced, url: pacedUrl } = await start({ simTtftMs: 0, simTokenDelayMs: 20 });
    const pacedClient = new RestAdapter(pacedUrl);
    const input = new PassThrough();
    const output = new PassThrough();
    let printed = '';
    output.on('data', (chunk: Buffer) => {
      printed += chunk.toString();
    });
    const shell = new Shell(pacedClient, { input, output, interactive: false });
    try {
      const running = shell.run();
      input.write('a long answer please\n');
      await until(() => shell.sessionId !== undefined && paced.chat.isReplying(shell.sessionId), 'the reply');
      expect(shell.cancel()).toBe(true);
      await until(() => printed.includes('[cancelled]'), 'the shell to report the cancellation');
      await until(() => !paced.chat.isReplying(shell.sessionId!), 'the model to stop');
      input.end();
      await running;
      expect(printed).not.toContain('model ›');
      const history = await pacedClient.history(shell.sessionId!);
      expect(history[1]).toMatchObject({ role: 'model', interrupted: true });
    } finally {
      await pacedClient.close();
      await paced.close();
    }
  });

  it('answers 502 model_error when the model fails mid-reply, rolling the user turn back', async () => {
    const config = testConfig();
    const chat = ChatService.fromConfig(config, 'rest', {
      model: new SimulatedModel({ ttftMs: 0, tokenDelayMs: 0, failAfterTokens: 3 }),
    });
    const failing = await createServer({ config, chat });
    const failingUrl = await failing.listen({ port: 0, host: '127.0.0.1' });
    const failingClient = new RestAdapter(failingUrl);
    try {
      const session = await failingClient.createSession();
      const raw = await postMessage(failingUrl, session.id, JSON.stringify({ text: 'hello' }));
      expect(raw).toMatchObject({ status: 502, body: { error: { code: 'model_error' } } });
      await expect(collect(failingClient.send(session.id, 'hello'))).rejects.toMatchObject({
        code: 'model_error',
      });
      expect(await failingClient.history(session.id)).toEqual([]);
      const stats = await failingClient.stats();
      expect(stats.errors.byCode).toEqual({ model_error: 2 }); // counted once per failure
      expect(stats.turns.failed).toBe(2);
    } finally {
      await failingClient.close();
      await failing.close();
    }
  });

  it('answers a reply in flight with finishReason cancelled when the server shuts down', async () => {
    const { server: paced, url: pacedUrl } = await start({ simTtftMs: 0, simTokenDelayMs: 50 });
    const pacedClient = new RestAdapter(pacedUrl);
    try {
      const session = await pacedClient.createSession();
      const pending = collect(pacedClient.send(session.id, 'a long answer please'));
      await until(() => paced.chat.isReplying(session.id), 'the reply to start');
      await paced.close();
      const events = await pending;
      expect(events.at(-1)).toMatchObject({ type: 'done', finishReason: 'cancelled' });
      await expect(pacedClient.health()).rejects.toBeInstanceOf(ChatError);
    } finally {
      await pacedClient.close();
      await paced.close();
    }
  });
});
