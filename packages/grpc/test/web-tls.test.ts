/**
 * The gRPC-Web/Connect listener and the METRICS_PORT listener over TLS (issue 22): with
 * TLS_CERT_FILE/TLS_KEY_FILE both are HTTPS with the grpc-js server's certificate, HTTP/2 by ALPN
 * with HTTP/1.1 for the clients that offer only it. A gRPC-Web stream from Node over either
 * version, trusting the development CA; another CA is refused.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect as h2Connect } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { createClient } from '@connectrpc/connect';
import { createGrpcWebTransport } from '@connectrpc/connect-node';
import { loadConfig } from '@gtp/core';
import { chromiumAvailable, launchChromium, makeDevCertificate, testConfig } from '@gtp/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChatService } from '../generated/es/genai/chat/v1/chat_pb.js';
import { createServer, type GrpcChatServer } from '../server.ts';
import { GrpcWebAdapter } from '../src/web-client.ts';

describe('gRPC-Web and /metrics over TLS', () => {
  let dir: string;
  let ca: Buffer;
  let otherCa: Buffer;
  let server: GrpcChatServer;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gtp-grpc-web-tls-'));
    const cert = makeDevCertificate(join(dir, 'ours'));
    ca = readFileSync(cert.caFile);
    otherCa = readFileSync(makeDevCertificate(join(dir, 'other')).caFile);
    const { tls } = loadConfig({ TLS_CERT_FILE: cert.certFile, TLS_KEY_FILE: cert.keyFile });
    server = await createServer({ config: testConfig({ tls }) });
    await server.listen({ port: 0, host: '127.0.0.1' });
  }, 60_000);
  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** GET `path` over HTTP/2 (node:http2, trusting the CA): its status and body. */
  const get = (url: string, path: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const session = h2Connect(url, { ca });
      session.once('error', reject);
      const stream = session.request({ ':path': path });
      let status = 0;
      let body = '';
      stream.on('response', (headers) => (status = Number(headers[':status'])));
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => (body += chunk));
      stream.once('error', reject);
      stream.on('end', () => {
        session.close();
        resolve({ status, body });
      });
    });

  /** A Connect JSON CreateSession over HTTP/2 with these extra headers: its HTTP status. */
  const createOverH2 = (headers: Record<string, string>) =>
    new Promise<number>((resolve, reject) => {
      const session = h2Connect(server.webUrl!, { ca });
      session.once('error', reject);
      const stream = session.request({
        ':method': 'POST',
        ':path': '/genai.chat.v1.ChatService/CreateSession',
        'content-type': 'application/json',
        ...headers,
      });
      let status = 0;
      stream.on('response', (h) => (status = Number(h[':status'])));
      stream.resume();
      stream.once('error', reject);
      stream.on('end', () => {
        session.close();
        resolve(status);
      });
      stream.end('{}');
    });

  /** The protocol ALPN settles on when a client offers `offered`, trusting `trusted`. */
  const alpn = (url: string, offered: string[], trusted = ca) =>
    new Promise<string | false>((resolve, reject) => {
      const { hostname, port } = new URL(url);
      const socket = tlsConnect(
        { host: hostname, port: Number(port), ca: trusted, ALPNProtocols: offered },
        () => {
          resolve(socket.alpnProtocol ?? false);
          socket.end();
        },
      );
      socket.once('error', reject);
    });

  it('both listeners are https://, ALPN picks h2 when offered, http/1.1 otherwise', async () => {
    expect(server.webUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(server.metricsUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    for (const url of [server.webUrl!, server.metricsUrl!]) {
      expect(await alpn(url, ['h2', 'http/1.1'])).toBe('h2');
      expect(await alpn(url, ['http/1.1'])).toBe('http/1.1');
    }
  });

  it.each(['2', '1.1'] as const)('a gRPC-Web stream over HTTP/%s with the CA', async (httpVersion) => {
    const client = createClient(
      ChatService,
      createGrpcWebTransport({ baseUrl: server.webUrl!, httpVersion, nodeOptions: { ca } }),
    );
    const { session } = await client.createSession({});
    const cases: string[] = [];
    for await (const { event } of client.streamMessage({ sessionId: session!.id, text: 'over tls' }))
      cases.push(event.case!);
    expect(cases[0]).toBe('start');
    expect(cases.at(-1)).toBe('done');
  });

  it("GrpcWebAdapter (the bench's gRPC-Web client) over https:// with the CA: HTTP/2, a whole turn", async () => {
    const adapter = new GrpcWebAdapter(server.webUrl!, { ca });
    const session = await adapter.createSession();
    const events: string[] = [];
    for await (const event of adapter.send(session.id, 'bench over tls')) events.push(event.type);
    expect(events.at(-1)).toBe('done');
    expect(adapter.bytesReceived()).toBeGreaterThan(0);
    await adapter.close();
  });

  it('GET /metrics over HTTPS with the CA; another CA is refused on both listeners', async () => {
    const res = await get(server.metricsUrl!, '/metrics');
    expect(res.status).toBe(200);
    expect(res.body).toContain('gtp_turns_total');
    for (const url of [server.webUrl!, server.metricsUrl!])
      await expect(alpn(url, ['h2'], otherCa)).rejects.toThrow(/self.signed|unable to verify|certificate/i);
  });

  it('over HTTP/2 the Host is :authority: the same Origin passes, a foreign Host or Origin is refused', async () => {
    const own = new URL(server.webUrl!).host;
    expect(await createOverH2({ origin: server.webUrl! })).toBe(200);
    expect(await createOverH2({ origin: 'https://evil.example' })).toBe(403);
    // DNS rebinding: a name that is not this server's (ALLOWED_HOSTS), sent as :authority.
    expect(await createOverH2({ ':authority': 'evil.example' })).toBe(403);
    expect(own).toMatch(/^127\.0\.0\.1:/);
  });

  it('the demo page over HTTPS (HTTP/2)', async () => {
    const res = await get(server.webUrl!, '/demo');
    expect(res.status).toBe(200);
    expect(res.body).toContain('<html');
  });

  it.skipIf(!chromiumAvailable)(
    'the demo in Chromium over HTTPS: its calls over h2, a reply streams',
    async () => {
      const browser = await launchChromium();
      try {
        // The development CA trusted as a browser would once it is installed (ignoreHTTPSErrors).
        const context = await browser.newContext({ ignoreHTTPSErrors: true });
        const page = await context.newPage();
        const errors: Error[] = [];
        page.on('pageerror', (error) => errors.push(error));
        await page.goto(`${server.webUrl}/demo`);
        await page.locator('#state[data-state="open"]').waitFor();
        await page.fill('#input', 'hello over https');
        await page.click('#send');
        const reply = page.locator('.ui-bubble.model[data-finish="stop"]');
        await reply.waitFor();
        expect(await reply.textContent()).toContain('hello over https');
        const protocols = await page.evaluate(() =>
          (performance.getEntriesByType('resource') as PerformanceResourceTiming[])
            .filter((e) => e.name.includes('ChatService/'))
            .map((e) => e.nextHopProtocol),
        );
        expect(protocols.length).toBeGreaterThan(0);
        expect(new Set(protocols)).toEqual(new Set(['h2']));
        expect(errors).toEqual([]);
      } finally {
        await browser.close();
      }
    },
    60_000,
  );
});
