import { Validator } from '@seriousme/openapi-schema-validator';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpApp, httpChatServer } from '../src/http/index.ts';
import { type ChatServer, ChatService } from '../src/index.ts';
import { testConfig } from '../src/testing/index.ts';

describe('@gtp/core/http shared routes', () => {
  let server: ChatServer;
  let base: string;
  let chat: ChatService;

  beforeAll(async () => {
    const config = testConfig({ bodyLimitBytes: 2048 });
    chat = ChatService.fromConfig(config, 'rest');
    const app = await createHttpApp({ protocol: 'rest', config, chat });
    server = httpChatServer('rest', app, chat);
    base = await server.listen({ port: 0 });
  });
  afterAll(() => server.close());

  const call = async (method: 'GET' | 'POST' | 'DELETE', path: string, body?: string, headers = {}) => {
    const res = await request(`${base}${path}`, { method, body, headers });
    const text = await res.body.text();
    return { status: res.statusCode, body: text ? JSON.parse(text) : undefined, headers: res.headers };
  };

  it('GET /health names the protocol and model', async () => {
    const { status, body } = await call('GET', '/health');
    expect(status).toBe(200);
    expect(body).toMatchObject({
      status: 'ok',
      protocol: 'rest',
      model: { provider: 'simulated', id: 'simulated-1' },
    });
    expect(typeof body.uptimeSeconds).toBe('number');
  });

  it('creates, lists, reads, clears and deletes sessions', async () => {
    const created = await call('POST', '/sessions');
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.body).toMatchObject({ messageCount: 0, model: { provider: 'simulated' } });

    expect((await call('GET', '/sessions')).body.sessions.map((s: { id: string }) => s.id)).toContain(id);
    expect((await call('GET', `/sessions/${id}`)).body.id).toBe(id);

    for await (const _ of chat.reply(id, 'hello')) {
      // one turn through the service
    }
    const history = await call('GET', `/sessions/${id}/messages`);
    expect(history.body.messages.map((m: { role: string }) => m.role)).toEqual(['user', 'model']);
    expect((await call('GET', `/sessions/${id}`)).body.messageCount).toBe(2);

    expect((await call('DELETE', `/sessions/${id}/messages`)).status).toBe(204);
    expect((await call('GET', `/sessions/${id}/messages`)).body.messages).toEqual([]);
    expect((await call('DELETE', `/sessions/${id}`)).status).toBe(204);
    expect((await call('GET', `/sessions/${id}`)).status).toBe(404);
  });

  it('answers unknown sessions and routes with the error shape', async () => {
    for (const [method, path] of [
      ['GET', '/sessions/nope'],
      ['DELETE', '/sessions/nope'],
      ['GET', '/sessions/nope/messages'],
      ['DELETE', '/sessions/nope/messages'],
    ] as const) {
      const { status, body } = await call(method, path);
      expect(status).toBe(404);
      expect(body).toEqual({ error: { code: 'session_not_found', message: 'session nope does not exist' } });
    }
    const unknown = await call('GET', '/nowhere');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('not_found');
  });

  it('maps malformed JSON and oversize bodies to invalid_request and payload_too_large', async () => {
    const json = { 'content-type': 'application/json' };
    const bad = await call('POST', '/sessions', '{"oops', json);
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('invalid_request');
    const big = await call('POST', '/sessions', JSON.stringify({ text: 'x'.repeat(5000) }), json);
    expect(big.status).toBe(413);
    expect(big.body.error).toMatchObject({
      code: 'payload_too_large',
      message: expect.stringContaining('BODY_LIMIT_BYTES'),
    });
    expect((await call('GET', '/health')).status).toBe(200);
  });

  it('GET /stats has the shared shape and counts errors', async () => {
    const { body } = await call('GET', '/stats');
    expect(Object.keys(body).sort()).toEqual(
      [
        'bytes',
        'connections',
        'errors',
        'latencyMs',
        'protocol',
        'sessions',
        'streams',
        'turns',
        'uptimeSeconds',
      ].sort(),
    );
    expect(body.errors.byCode.session_not_found).toBeGreaterThan(0);
    expect(body.latencyMs.ttft).toMatchObject({
      count: expect.any(Number),
      p50: expect.any(Number),
      p99: expect.any(Number),
    });
  });

  it('serves a valid OpenAPI 3 document and Swagger UI', async () => {
    const { status, body } = await call('GET', '/openapi.json');
    expect(status).toBe(200);
    const result = await new Validator().validate(body);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(Object.keys(body.paths)).toEqual(
      expect.arrayContaining(['/health', '/stats', '/sessions', '/sessions/{id}', '/sessions/{id}/messages']),
    );
    expect(body.paths['/sessions/{id}'].get.responses['404']).toBeDefined();
    const docs = await request(`${base}/docs`);
    expect(docs.statusCode).toBe(200);
    expect(await docs.body.text()).toContain('swagger-ui');
  });
});
