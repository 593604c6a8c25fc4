/**
 * The Node clients negotiate HTTP/2 over TLS (issue 22): the REST, NDJSON, SSE and WebSocket
 * adapters given an https:// target and the CA open their undici connections with ALPN `h2`
 * (undici's allowH2), as a browser does, and a whole turn works on them; the EventSource of the
 * SSE client included. Seen where ALPN is decided: undici's `undici:client:connected` channel
 * hands over each new socket, whose `alpnProtocol` is what client and server agreed. Plaintext
 * (http://) stays HTTP/1.1: no TLS, no ALPN.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { type ChatEvent, type ChatServer, loadConfig, type Protocol } from '@gtp/core';
import { makeDevCertificate, OPENSSL_PATH, testConfig } from '@gtp/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadProtocol, type ProtocolModule } from '../src/protocols.ts';

const HTTP_PROTOCOLS = ['rest', 'streamable-http', 'sse', 'websocket'] as const satisfies Protocol[];

describe.skipIf(!existsSync(OPENSSL_PATH))('the Node HTTP clients over TLS speak HTTP/2', () => {
  let dir: string;
  let ca: Buffer;
  const servers = new Map<
    Protocol,
    { server: ChatServer; url: string; plain: string; module: ProtocolModule }
  >();
  /** Every socket undici connected, by the origin it connected to: its ALPN protocol (or none). */
  const connected: { origin: string; alpn: string | false | null | undefined }[] = [];
  const onConnected = (message: unknown) => {
    const { connectParams, socket } = message as {
      connectParams: { protocol: string; hostname: string; port: string };
      socket: TLSSocket;
    };
    const { protocol, hostname, port } = connectParams;
    connected.push({ origin: `${protocol}//${hostname}:${port}`, alpn: socket.alpnProtocol });
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gtp-client-h2-'));
    const cert = makeDevCertificate(dir);
    ca = readFileSync(cert.caFile);
    const { tls } = loadConfig({ TLS_CERT_FILE: cert.certFile, TLS_KEY_FILE: cert.keyFile });
    for (const protocol of HTTP_PROTOCOLS) {
      const loaded = await loadProtocol(protocol);
      if (!loaded.ok) throw new Error(loaded.reason);
      const server = await loaded.module.createServer({ config: testConfig({ tls, simTokenDelayMs: 2 }) });
      const url = await server.listen({ port: 0, host: '127.0.0.1' });
      const plainServer = await loaded.module.createServer({ config: testConfig({ simTokenDelayMs: 2 }) });
      const plain = await plainServer.listen({ port: 0, host: '127.0.0.1' });
      servers.set(protocol, { server, url, plain, module: loaded.module });
      servers.set(`${protocol}-plain` as Protocol, {
        server: plainServer,
        url: plain,
        plain,
        module: loaded.module,
      });
    }
    subscribe('undici:client:connected', onConnected);
  }, 60_000);
  afterAll(async () => {
    unsubscribe('undici:client:connected', onConnected);
    await Promise.all([...servers.values()].map(({ server }) => server.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  /** A whole turn with the protocol's own client; resolves when `done` arrived. */
  async function turn(module: ProtocolModule, url: string, options: { ca?: Buffer }) {
    const adapter = module.createAdapter(url, options);
    try {
      const session = await adapter.createSession();
      const events: ChatEvent[] = [];
      for await (const event of adapter.send(session.id, 'hello over h2', {
        signal: AbortSignal.timeout(15_000),
      }))
        events.push(event);
      expect(events.at(-1)).toMatchObject({ type: 'done', finishReason: 'stop' });
      await adapter.history(session.id);
    } finally {
      await adapter.close();
    }
  }

  it.each(HTTP_PROTOCOLS)(
    '%s: https:// with --ca connects with ALPN h2, and a turn works',
    async (protocol) => {
      const { module, url } = servers.get(protocol)!;
      const origin = new URL(url).origin;
      await turn(module, url, { ca });
      const ours = connected.filter((c) => c.origin === origin);
      expect(ours.length).toBeGreaterThan(0);
      expect(new Set(ours.map((c) => c.alpn))).toEqual(new Set(['h2']));
    },
  );

  it.each(HTTP_PROTOCOLS)('%s: http:// stays HTTP/1.1 (no TLS, no ALPN)', async (protocol) => {
    const { module, plain } = servers.get(protocol)!;
    const origin = new URL(plain).origin;
    await turn(module, plain, {});
    // The WebSocket client's session routes go through undici's global pool here: same check.
    const ours = connected.filter((c) => c.origin === origin);
    expect(ours.length).toBeGreaterThan(0);
    expect(ours.every((c) => !c.alpn)).toBe(true);
  });
});
