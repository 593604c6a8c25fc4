/**
 * All five servers over TLS (issue 22), each started with nothing but TLS_CERT_FILE/TLS_KEY_FILE:
 * a turn with the protocol's own client trusting the development CA (--ca), the same with a
 * foreign client (curl --cacert; Python grpcio for gRPC), a CA that did not sign the certificate
 * refused by both, gRPC's host name check, and ALPN: the HTTP servers pick h2 for an HTTP/2
 * client (NDJSON and SSE streams multiplexed on one connection) and http/1.1 for the others (the
 * WebSocket upgrade, curl --http1.1).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http2 from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { type ChatEvent, type ChatServer, loadConfig, PROTOCOLS, type Protocol } from '@gtp/core';
import { type DevCertificate, makeDevCertificate, OPENSSL_PATH, testConfig } from '@gtp/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadProtocol, type ProtocolModule } from '../src/protocols.ts';

const run = promisify(execFile);
const CURL = '/usr/bin/curl';
const PYTHON = '/usr/bin/python3';
const pythonGrpc =
  existsSync(PYTHON) &&
  (await run(PYTHON, ['-c', 'import grpc']).then(
    () => true,
    () => false,
  ));
const ready = existsSync(OPENSSL_PATH) && existsSync(CURL);
if (!ready) console.warn('TLS tests skipped: need /usr/bin/openssl and /usr/bin/curl');

const HTTP_PROTOCOLS = PROTOCOLS.filter((p) => p !== 'grpc');

describe.skipIf(!ready)('TLS on all five servers', () => {
  let dir: string;
  let good: DevCertificate;
  let other: DevCertificate; // another CA: must be refused
  let wrongHost: DevCertificate; // signed for example.test only: gRPC's host check refuses it
  const servers = new Map<Protocol, { server: ChatServer; url: string; module: ProtocolModule }>();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gtp-tls-'));
    good = makeDevCertificate(join(dir, 'good'));
    other = makeDevCertificate(join(dir, 'other'));
    wrongHost = makeDevCertificate(join(dir, 'wrong-host'), { dns: ['example.test'], ips: [] });
    // The one environment change: the two files. Everything else is the tests' quiet config.
    const { tls: serverTls } = loadConfig({ TLS_CERT_FILE: good.certFile, TLS_KEY_FILE: good.keyFile });
    for (const protocol of PROTOCOLS) {
      const loaded = await loadProtocol(protocol);
      if (!loaded.ok) throw new Error(loaded.reason);
      const server = await loaded.module.createServer({
        config: testConfig({ tls: serverTls, simTokenDelayMs: 2 }),
      });
      const url = await server.listen({ port: 0, host: '127.0.0.1' });
      servers.set(protocol, { server, url, module: loaded.module });
    }
  }, 60_000);

  afterAll(async () => {
    await Promise.all([...servers.values()].map(({ server }) => server.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  const ca = () => readFileSync(good.caFile);

  it('the HTTP servers say https:// and gRPC host:port', () => {
    for (const protocol of HTTP_PROTOCOLS)
      expect(servers.get(protocol)?.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(servers.get('grpc')?.url).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  describe.each(PROTOCOLS)('%s', (protocol) => {
    it('own client with --ca: a whole turn', async () => {
      const { url, module } = servers.get(protocol)!;
      const adapter = module.createAdapter(url, { ca: ca() });
      try {
        const session = await adapter.createSession();
        const events: ChatEvent[] = [];
        for await (const event of adapter.send(session.id, 'hello over TLS', {
          signal: AbortSignal.timeout(15_000),
        }))
          events.push(event);
        const done = events.at(-1);
        expect(done).toMatchObject({ type: 'done', finishReason: 'stop' });
        const text = events.flatMap((e) => (e.type === 'delta' ? [e.text] : [])).join('');
        expect(text).toContain('hello over TLS');
      } finally {
        await adapter.close();
      }
    });

    it('own client with another CA: refused, no turn', async () => {
      const { url, module } = servers.get(protocol)!;
      const adapter = module.createAdapter(url, { ca: readFileSync(other.caFile) });
      try {
        await expect(adapter.createSession()).rejects.toThrow(
          /certificate|unavailable|reach|self.signed|issuer/i,
        );
      } finally {
        await adapter.close();
      }
    });
  });

  describe.each(HTTP_PROTOCOLS)('%s with curl --cacert', (protocol) => {
    const curl = (url: string, args: string[], caFile = good.caFile) =>
      run(CURL, ['-sS', '--cacert', caFile, '--max-time', '10', ...args, url], { timeout: 15_000 });

    it('negotiates HTTP/2 and answers /health', async () => {
      const { url } = servers.get(protocol)!;
      const { stdout } = await curl(`${url}/health`, ['-w', '\n%{http_version}']);
      const [body, version] = stdout.split('\n');
      expect(JSON.parse(body ?? '')).toMatchObject({ status: 'ok', protocol });
      expect(version).toBe('2');
    });

    it('refuses a CA that did not sign the certificate (curl exit 60)', async () => {
      const { url } = servers.get(protocol)!;
      const failure = await curl(`${url}/health`, [], other.caFile).then(
        () => undefined,
        (error: { code?: number }) => error,
      );
      expect(failure?.code).toBe(60);
    });

    it('a chat turn in its own idiom', async () => {
      const { url } = servers.get(protocol)!;
      const json = ['-H', 'content-type: application/json'];
      const session = JSON.parse(
        (await curl(`${url}/sessions`, ['-X', 'POST', ...json, '-d', '{}'])).stdout,
      ) as {
        id: string;
      };
      const post = (text: string) =>
        curl(`${url}/sessions/${session.id}/messages`, [
          '-X',
          'POST',
          ...json,
          '-d',
          JSON.stringify({ text }),
        ]);
      if (protocol === 'rest') {
        expect(JSON.parse((await post('curl turn')).stdout)).toMatchObject({ finishReason: 'stop' });
      } else if (protocol === 'streamable-http') {
        const lines = (await post('curl turn')).stdout.trim().split('\n');
        expect(JSON.parse(lines.at(-1) ?? '')).toMatchObject({ type: 'done', finishReason: 'stop' });
      } else if (protocol === 'sse') {
        // The stream over HTTP/2 (no `connection` header there), then the message; the stream
        // carries the reply to its `done` (curl ends at --max-time; what it read is kept).
        const stream = curl(`${url}/sessions/${session.id}/events`, ['-N', '-i', '--max-time', '4']).catch(
          (error: { stdout?: string }) => ({ stdout: error.stdout ?? '' }),
        );
        await new Promise((resolve) => setTimeout(resolve, 500));
        expect(JSON.parse((await post('curl turn')).stdout)).toHaveProperty('messageId');
        const { stdout } = await stream;
        expect(stdout).toMatch(/^HTTP\/2 200/);
        expect(stdout).not.toMatch(/^connection:/im);
        expect(stdout).toContain('event: done');
      } else {
        // websocket: the upgrade is HTTP/1.1 (ALPN http/1.1); `ws` does not do RFC 8441 over h2.
        const { stdout } = await curl(`${url}/ws`, [
          '--http1.1',
          '-i',
          '--max-time',
          '2',
          '-H',
          'connection: Upgrade',
          '-H',
          'upgrade: websocket',
          '-H',
          'sec-websocket-version: 13',
          '-H',
          'sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==',
          '-H',
          'sec-websocket-protocol: genai-chat.v1',
        ]).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? '' }));
        expect(stdout).toMatch(/^HTTP\/1\.1 101/);
      }
    });

    it('ALPN: h2 for an HTTP/2 client, http/1.1 for an HTTP/1.1-only one', async () => {
      const { url } = servers.get(protocol)!;
      const session = http2.connect(url, { ca: ca() });
      try {
        await new Promise<void>((resolve, reject) => {
          session.once('connect', () => resolve());
          session.once('error', reject);
        });
        expect(session.alpnProtocol).toBe('h2');
        const status = await new Promise<number>((resolve, reject) => {
          const req = session.request({ ':path': '/health' });
          req.once('response', (headers) => resolve(Number(headers[':status'])));
          req.once('error', reject);
          req.resume();
          req.end();
        });
        expect(status).toBe(200);
      } finally {
        session.close();
      }
      const { port } = new URL(url);
      const socket = tls.connect({
        host: '127.0.0.1',
        port: Number(port),
        ca: ca(),
        ALPNProtocols: ['http/1.1'],
      });
      try {
        await new Promise<void>((resolve, reject) => {
          socket.once('secureConnect', () => resolve());
          socket.once('error', reject);
        });
        expect(socket.alpnProtocol).toBe('http/1.1');
      } finally {
        socket.destroy();
      }
    });
  });

  it('NDJSON: three replies stream at once on one HTTP/2 connection', async () => {
    const { url } = servers.get('streamable-http')!;
    const session = http2.connect(url, { ca: ca() });
    const call = (method: string, path: string, body?: unknown) =>
      new Promise<string>((resolve, reject) => {
        const req = session.request({ ':method': method, ':path': path, 'content-type': 'application/json' });
        let text = '';
        req.setEncoding('utf8');
        req.on('data', (chunk: string) => {
          text += chunk;
        });
        req.once('end', () => resolve(text));
        req.once('error', reject);
        req.end(body === undefined ? undefined : JSON.stringify(body));
      });
    try {
      const ids = await Promise.all(
        [1, 2, 3].map(async () => (JSON.parse(await call('POST', '/sessions', {})) as { id: string }).id),
      );
      const replies = await Promise.all(
        ids.map((id, i) => call('POST', `/sessions/${id}/messages`, { text: `n${i}` })),
      );
      for (const reply of replies) {
        const last = JSON.parse(reply.trim().split('\n').at(-1) ?? '{}');
        expect(last).toMatchObject({ type: 'done', finishReason: 'stop' });
      }
      // One TCP connection carried all of it: the session is still the first one.
      expect(session.closed).toBe(false);
    } finally {
      session.close();
    }
  });

  describe('gRPC', () => {
    it('a certificate not made for the target host is refused by the client (host name check)', async () => {
      const { tls: wrongTls } = loadConfig({
        TLS_CERT_FILE: wrongHost.certFile,
        TLS_KEY_FILE: wrongHost.keyFile,
      });
      const loaded = await loadProtocol('grpc');
      if (!loaded.ok) throw new Error(loaded.reason);
      const server = await loaded.module.createServer({ config: testConfig({ tls: wrongTls }) });
      const target = await server.listen({ port: 0, host: '127.0.0.1' });
      const wrongCa = readFileSync(wrongHost.caFile);
      // Health/Check with the right CA: refused for the name alone, since the same call with the
      // name the certificate was made for (ssl_target_name_override) goes through.
      const check = (options: grpc.ChannelOptions) => {
        const client = new grpc.Client(target, grpc.credentials.createSsl(wrongCa), options);
        return new Promise<{ code: number; details: string } | 'ok'>((resolve) => {
          client.makeUnaryRequest(
            '/grpc.health.v1.Health/Check',
            () => Buffer.alloc(0),
            (bytes: Buffer) => bytes,
            {},
            { deadline: Date.now() + 10_000 },
            (error) => {
              client.close();
              resolve(error ? { code: error.code, details: error.details } : 'ok');
            },
          );
        });
      };
      const adapter = loaded.module.createAdapter(target, { ca: wrongCa });
      try {
        const refused = await check({});
        expect(refused).toMatchObject({ code: grpc.status.UNAVAILABLE });
        expect(refused !== 'ok' && refused.details).toMatch(/altnames|does not match/i);
        expect(await check({ 'grpc.ssl_target_name_override': 'example.test' })).toBe('ok');
        await expect(adapter.createSession()).rejects.toThrow(/cannot reach/);
      } finally {
        await adapter.close();
        await server.close();
      }
    });

    it.skipIf(!pythonGrpc)(
      'Python grpcio with the CA: Health/Check is SERVING; another CA is refused',
      async () => {
        const target = servers.get('grpc')!.url;
        const script = join(import.meta.dirname, 'python', 'tls_health.py');
        const ok = await run(PYTHON, [script, target, good.caFile], { timeout: 20_000 });
        expect(JSON.parse(ok.stdout)).toEqual({ status: 'SERVING' });
        const refused = await run(PYTHON, [script, target, other.caFile], { timeout: 20_000 });
        expect(JSON.parse(refused.stdout)).toEqual({ error: 'UNAVAILABLE' });
      },
    );
  });
});
