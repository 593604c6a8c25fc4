import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Validator } from '@seriousme/openapi-schema-validator';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createHttpApp, httpChatServer } from '../src/http/index.ts';
import { type ChatServer, ChatService, type Config } from '../src/index.ts';
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

describe('@gtp/core/http access: the one check in one onRequest hook', () => {
  const TOKEN = 'hook-token';
  const ALLOWED_ORIGIN = 'http://allowed.example';
  let server: ChatServer | undefined;
  let base: string;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  /** A server of the shared app plus a route that shows the request's Access. */
  const start = async (overrides: Partial<Config>) => {
    const config = testConfig(overrides);
    const chat = ChatService.fromConfig(config, 'rest');
    const app = await createHttpApp({ protocol: 'rest', config, chat });
    app.get('/whoami', async (request) => request.access);
    server = httpChatServer('rest', app, chat, { ownsChat: true });
    base = await server.listen({ port: 0 });
  };
  const call = async (method: 'GET' | 'HEAD' | 'OPTIONS', path: string, headers = {}) => {
    const res = await request(`${base}${path}`, { method, headers });
    const text = await res.body.text();
    return { status: res.statusCode, body: text ? JSON.parse(text) : undefined, headers: res.headers };
  };

  it('stores who is calling on the request: the token principal, or anonymous without AUTH_TOKEN', async () => {
    await start({ authToken: TOKEN });
    const authorized = await call('GET', '/whoami', { authorization: `Bearer ${TOKEN}` });
    expect(authorized).toMatchObject({
      status: 200,
      body: { principal: 'token', clientAddress: '127.0.0.1' },
    });
    const byQuery = await call('GET', `/whoami?access_token=${TOKEN}`);
    expect(byQuery.body).toMatchObject({ principal: 'token' });
    await server?.close();

    await start({});
    expect((await call('GET', '/whoami')).body).toEqual({
      principal: 'anonymous',
      clientAddress: '127.0.0.1',
    });
  });

  it('401 with a Bearer challenge; GET and HEAD /health open; a CORS preflight passes', async () => {
    await start({ authToken: TOKEN, allowedOrigins: [ALLOWED_ORIGIN] });
    const refused = await call('GET', '/whoami');
    expect(refused.status).toBe(401);
    expect(refused.body).toEqual({ error: { code: 'unauthorized', message: expect.any(String) } });
    expect(refused.headers['www-authenticate']).toBe('Bearer realm="genai-transports"');
    expect((await call('GET', '/nowhere')).status).toBe(401); // unknown routes are guarded too

    expect((await call('GET', '/health')).status).toBe(200);
    expect((await call('HEAD', '/health')).status).toBe(200);
    expect((await call('GET', '/health?probe=1')).status).toBe(200);

    const preflight = await call('OPTIONS', '/sessions', {
      origin: ALLOWED_ORIGIN,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization, content-type',
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe(ALLOWED_ORIGIN);

    const foreign = await call('GET', '/whoami', {
      authorization: `Bearer ${TOKEN}`,
      origin: 'http://foreign.example',
    });
    expect(foreign.status).toBe(403);
    expect(foreign.body.error.code).toBe('forbidden');
  });

  it('429 with retry-after past RATE_LIMIT_MAX, unknown routes counted, probes not', async () => {
    await start({ rateLimitMax: 2, rateLimitWindowMs: 60_000 });
    expect((await call('GET', '/nowhere')).status).toBe(404);
    expect((await call('GET', '/nowhere')).status).toBe(404);
    const limited = await call('GET', '/whoami');
    expect(limited.status).toBe(429);
    expect(limited.body.error).toMatchObject({ code: 'rate_limited', retryAfterSeconds: expect.any(Number) });
    expect(Number(limited.headers['retry-after'])).toBe(limited.body.error.retryAfterSeconds);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect((await call('GET', '/nowhere')).status).toBe(429);
    for (let i = 0; i < 3; i++) expect((await call('GET', '/health')).status).toBe(200);
  });
});

describe('@gtp/core/http logging', () => {
  it("logs through core's pino logger, with the protocol, and never writes ?access_token=", async () => {
    const src = join(import.meta.dirname, '..', 'src');
    // A process of its own: the logger writes to its stdout, which the test reads whole.
    const script = `(async () => {
      const { createHttpApp } = await import(${JSON.stringify(join(src, 'http/index.ts'))});
      const { ChatService } = await import(${JSON.stringify(join(src, 'index.ts'))});
      const { testConfig } = await import(${JSON.stringify(join(src, 'testing/index.ts'))});
      const config = testConfig({ logLevel: 'info', authToken: 'leaky-secret' });
      const chat = ChatService.fromConfig(config, 'rest');
      const app = await createHttpApp({ protocol: 'rest', config, chat });
      const res = await app.inject({ method: 'GET', url: '/sessions?x=1&access_token=leaky-secret' });
      if (res.statusCode !== 200) throw new Error('refused: ' + res.statusCode);
      await app.close();
      await chat.close();
    })().catch((error) => { console.error(error); process.exit(1); });`;

    const tsx = join(import.meta.dirname, '..', '..', '..', 'node_modules/tsx/dist/cli.mjs');
    const { stdout } = await promisify(execFile)(process.execPath, [tsx, '--eval', script], {
      timeout: 60_000,
    });
    const lines = stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { msg: string; protocol?: string; req?: { url: string } });
    const incoming = lines.find((line) => line.msg === 'incoming request');
    expect(incoming).toMatchObject({
      protocol: 'rest',
      req: { url: '/sessions?x=1&access_token=[redacted]' },
    });
    expect(lines.find((line) => line.msg === 'request completed')).toBeDefined();
    expect(stdout).not.toContain('leaky-secret');
  }, 90_000);
});
