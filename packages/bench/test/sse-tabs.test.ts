/**
 * Eight EventSource streams in one Chromium page of one origin, over TLS: held to HTTP/1.1 the
 * browser opens six connections and the seventh and eighth stream start only after an earlier
 * one has closed; over HTTP/2 all eight are open together and every reply reaches its done.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ChatServer, loadConfig } from '@gtp/core';
import { chromiumAvailable, makeDevCertificate, testConfig } from '@gtp/core/testing';
import { createServer } from '@gtp/sse/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { measureSseTabs, SSE_TABS } from '../src/sse-tabs.ts';

describe.skipIf(!chromiumAvailable)('8 SSE streams in one browser origin', () => {
  let dir: string;
  let server: ChatServer;
  let url: string;
  let ca: Buffer;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gtp-sse-tabs-test-'));
    const cert = makeDevCertificate(dir);
    const { tls } = loadConfig({ TLS_CERT_FILE: cert.certFile, TLS_KEY_FILE: cert.keyFile });
    // Replies long enough that the first six are still streaming when the page has made all eight.
    server = await createServer({ config: testConfig({ tls, simTtftMs: 200, simTokenDelayMs: 20 }) });
    url = await server.listen({ port: 0, host: '127.0.0.1' });
    ca = readFileSync(cert.caFile);
  }, 30_000);
  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('HTTP/1.1: six connections; the seventh and eighth wait until a stream closes', async () => {
    const run = await measureSseTabs({ url, ca, http2: false, signal: AbortSignal.timeout(60_000) });
    expect(run.streams.every((s) => s.doneMs >= 0)).toBe(true);
    expect(run.openTogether).toBe(6);
    const firstClose = Math.min(...run.streams.map((s) => s.closedMs));
    const late = run.streams.filter((s) => s.openedMs >= firstClose);
    expect(late).toHaveLength(SSE_TABS - 6);
  }, 90_000);

  it('HTTP/2: all eight open at once on one connection and complete', async () => {
    const run = await measureSseTabs({ url, ca, http2: true, signal: AbortSignal.timeout(60_000) });
    expect(run.openTogether).toBe(SSE_TABS);
    expect(run.streams.every((s) => s.doneMs >= 0 && s.openedMs >= 0)).toBe(true);
  }, 90_000);
});
