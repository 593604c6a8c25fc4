/**
 * Issue 16's smaller defects, each against a real server: a stalled request body is answered 408,
 * a percent-encoded ?access_token= never reaches the log, Fastify's own router errors come in our
 * shape without the URL, a `__proto__` body is named as such, the CORS preflight allows DELETE,
 * every page carries the security headers, the gRPC status never echoes a 100 KB session id, a
 * gRPC address cannot hold unbounded Health/Watch streams, a base64 token works from a browser's
 * WebSocket, and the simulated model never cuts a surrogate pair.
 */
import { connect, type Socket } from 'node:net';
import { quote, redactUrl, requestToken } from '@gtp/core';
import { launchChromium, testConfig } from '@gtp/core/testing';
import { createServer as createGrpc } from '@gtp/grpc/server';
import { createServer as createRest } from '@gtp/rest/server';
import { createServer as createWebSocket } from '@gtp/websocket/server';
import { afterEach, describe, expect, it } from 'vitest';
import { GrpcClient, grpc, HealthClient } from '../src/grpc.ts';
import { HttpJson } from '../src/http.ts';

const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

async function rest(overrides: Parameters<typeof testConfig>[0] = {}) {
  const server = await createRest({ config: testConfig(overrides) });
  const url = await server.listen({ port: 0, host: '127.0.0.1' });
  closers.push(() => server.close());
  return url;
}

/** Send raw bytes, resolve with everything the server answered until it closed the socket. */
function raw(url: string, bytes: string, { end = true } = {}): Promise<string> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket: Socket = connect(Number(port), '127.0.0.1', () => {
      if (end) socket.end(bytes);
      else socket.write(bytes);
    });
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      answer += chunk;
    });
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
    closers.push(async () => socket.destroy());
  });
}

describe('HTTP hardening (the shared plugin)', () => {
  it('answers a request body that never finishes with 408 and closes the connection', async () => {
    const url = await rest({ requestTimeoutMs: 1_000 });
    const answer = await raw(
      url,
      'POST /sessions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"a":',
      { end: false },
    );
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
  });

  it('redacts ?access_token= however its name is percent-encoded, as the parser reads it', async () => {
    const url = await rest({ authToken: 'sekrit-token-1' });
    for (const name of ['access_token', 'access%5Ftoken', '%61ccess_token', 'access%5ftoken']) {
      const target = `/sessions?x=1&${name}=sekrit-token-1`;
      const api = new HttpJson(url);
      const answer = await api.call('GET', target);
      await api.close();
      expect(answer.status, name).toBe(200); // it does authenticate (the parser decodes the name) …
      expect(requestToken({}, target), name).toBe('sekrit-token-1');
      // … so the redaction of every log line's URL (core/src/logger.ts) decodes it too.
      expect(redactUrl(target), name).toBe(`/sessions?x=1&${name}=[redacted]`);
    }
  });

  it("answers Fastify's own router errors in the contract's shape, without echoing the URL", async () => {
    const url = await rest();
    const api = new HttpJson(url);
    closers.push(() => api.close());
    const long = await api.call('GET', `/sessions/${'x'.repeat(500)}`);
    expect(long.status).toBe(414);
    expect(long.body).toEqual({ error: { code: 'invalid_request', message: expect.any(String) } });
    expect(JSON.stringify(long.body)).not.toContain('xxxxxxxx');
    const bad = await raw(
      url,
      'GET /sessions/%E0%A4%A HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n',
    );
    expect(bad).toMatch(/^HTTP\/1\.1 400/);
    expect(bad).toContain('"code":"invalid_request"');
    expect(bad).not.toContain('%E0%A4%A');
  });

  it('says what is wrong with a __proto__ body', async () => {
    const url = await rest();
    const api = new HttpJson(url);
    closers.push(() => api.close());
    const id = ((await api.call('POST', '/sessions')).body as { id: string }).id;
    const answer = await api.call('POST', `/sessions/${id}/messages`, '{"text":"hi","__proto__":{"x":1}}', {
      'content-type': 'application/json',
    });
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({
      error: { code: 'invalid_request', message: expect.stringContaining('__proto__') },
    });
  });

  it('allows DELETE in a CORS preflight of an allowed origin; HEAD /health needs no token', async () => {
    const url = await rest({ allowedOrigins: ['http://app.example'], authToken: 't' });
    const preflight = await raw(
      url,
      'OPTIONS /sessions/x HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: http://app.example\r\n' +
        'Access-Control-Request-Method: DELETE\r\nConnection: close\r\n\r\n',
    );
    expect(preflight).toMatch(/access-control-allow-methods: [^\r]*DELETE/i);
    const head = await raw(url, 'HEAD /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 200/);
  });

  it('sends the security headers on pages: a CSP without inline script, no framing, nosniff, no referrer', async () => {
    const url = await rest();
    const api = new HttpJson(url);
    closers.push(() => api.close());
    const page = await api.call('GET', '/');
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).toContain("frame-ancestors 'none'");
    expect(page.headers['x-frame-options']).toBe('DENY');
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(page.headers['referrer-policy']).toBe('no-referrer');
  });
});

describe('gRPC hardening', () => {
  async function grpcServer() {
    const server = await createGrpc({ config: testConfig() });
    const target = await server.listen({ port: 0, host: '127.0.0.1' });
    closers.push(() => server.close());
    return target.replace(/^grpc:\/\//, '');
  }

  it('never echoes an unbounded session_id into grpc-message', async () => {
    const target = await grpcServer();
    const client = new GrpcClient(target);
    closers.push(async () => client.close());
    const error = await client
      .unary('GetSession', { sessionId: 'x'.repeat(100_000) })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'session_not_found', grpcCode: grpc.status.NOT_FOUND });
    expect((error as Error).message.length).toBeLessThan(200);
  });

  it('bounds the Health/Watch streams one address holds; the probe still answers after', async () => {
    const target = await grpcServer();
    const opened: grpc.ClientReadableStream<unknown>[] = [];
    const refused: number[] = [];
    // Many connections (no subchannel sharing), each with streams up to its own bound.
    for (let c = 0; c < 4; c++) {
      const health = new HealthClient(target, grpc.credentials.createInsecure(), {
        'grpc.use_local_subchannel_pool': 1,
      }) as unknown as { watch(req: unknown): grpc.ClientReadableStream<unknown>; close(): void };
      closers.push(async () => health.close());
      for (let i = 0; i < 100; i++) {
        const call = health.watch({ service: '' });
        call.on('error', (e: grpc.ServiceError) => refused.push(e.code));
        call.on('data', () => undefined);
        opened.push(call);
      }
    }
    await expect.poll(() => refused.length, { timeout: 15_000 }).toBeGreaterThan(0);
    expect(new Set(refused.filter((code) => code !== grpc.status.CANCELLED))).toEqual(
      new Set([grpc.status.RESOURCE_EXHAUSTED]),
    );
    for (const call of opened) call.cancel();
    const probe = new GrpcClient(target);
    closers.push(async () => probe.close());
    await expect.poll(() => probe.health(), { timeout: 10_000 }).toBe(true);
  });
});

describe('a base64 token from a browser WebSocket (Chromium)', () => {
  it('connects with the token base64url-encoded in the bearer. subprotocol', async () => {
    const token = 'c2VjcmV0/K+ey==';
    const server = await createWebSocket({ config: testConfig({ authToken: token }) });
    const url = await server.listen({ port: 0, host: '127.0.0.1' });
    closers.push(() => server.close());
    const browser = await launchChromium();
    closers.push(() => browser.close());
    const page = await browser.newPage();
    await page.goto(`${url}/health`);
    const outcome = await page.evaluate(
      async ({ wsUrl, token }) => {
        const encoded = btoa(token).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
        const raw = await new Promise<string>((resolve) => {
          try {
            new WebSocket(wsUrl, ['genai-chat.v1', `bearer.${token}`]);
            resolve('accepted');
          } catch (error) {
            resolve(String((error as Error).name));
          }
        });
        const joined = await new Promise<string>((resolve) => {
          const ws = new WebSocket(wsUrl, ['genai-chat.v1', `bearer.${encoded}`]);
          ws.onopen = () => ws.send(JSON.stringify({ type: 'join' }));
          ws.onmessage = (event) => {
            resolve(JSON.parse(String(event.data)).type);
            ws.close();
          };
          ws.onerror = () => resolve('error');
        });
        return { raw, joined };
      },
      { wsUrl: `${url.replace(/^http/, 'ws')}/ws`, token },
    );
    expect(outcome).toEqual({ raw: 'SyntaxError', joined: 'joined' });
  });
});

describe('the simulated model', () => {
  it('never cuts a surrogate pair when it quotes the user', () => {
    const text = `${'a'.repeat(58)}😀😀😀`;
    const quoted = quote(text);
    expect(quoted.endsWith('…')).toBe(true);
    expect(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(quoted)).toBe(false);
  });
});
