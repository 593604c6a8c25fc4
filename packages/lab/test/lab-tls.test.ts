/**
 * The lab and the demos over HTTPS (issue 22): the five servers and the lab page started with
 * TLS_CERT_FILE/TLS_KEY_FILE only, Chromium trusting the certificate (ignoreHTTPSErrors, as a
 * development CA would be trusted). The race finishes on every browser lane — its HTTP lanes and
 * the gRPC-Web lane (the gRPC server's gRPC-Web listener, TLS with the same pair) over HTTP/2, the
 * WebSocket lane over wss:// — and each demo sends a message and gets the reply.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '@gtp/core';
import { chromiumAvailable, launchChromium, makeDevCertificate, testConfig } from '@gtp/core/testing';
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Lab, startLab } from '../src/lab.ts';

describe.skipIf(!chromiumAvailable)('the lab and the demos over HTTPS', () => {
  let dir: string;
  let lab: Lab;
  let browser: Browser;
  let context: BrowserContext;
  const errors: Error[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gtp-lab-tls-'));
    const cert = makeDevCertificate(dir);
    const { tls } = loadConfig({ TLS_CERT_FILE: cert.certFile, TLS_KEY_FILE: cert.keyFile });
    lab = await startLab({
      config: testConfig({ tls, simTtftMs: 50, simTokenDelayMs: 10 }),
      ports: 'ephemeral',
      labPort: 0,
    });
    browser = await launchChromium();
    context = await browser.newContext({ ignoreHTTPSErrors: true });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await lab?.close();
    rmSync(dir, { recursive: true, force: true });
    expect(errors).toEqual([]);
  });

  it('every address is https://', () => {
    expect(lab.url).toMatch(/^https:\/\//);
    for (const protocol of ['rest', 'streamable-http', 'sse', 'websocket'] as const)
      expect(lab.addresses[protocol]).toMatch(/^https:\/\//);
  });

  it('the race finishes on every lane, its HTTP requests over h2', async () => {
    const page = await context.newPage();
    page.on('pageerror', (error) => errors.push(error));
    await page.goto(`${lab.url}/lab`);
    await page.locator('#network option').first().waitFor({ state: 'attached' });
    await page.click('#go');
    await page.locator('#copy:not([disabled])').waitFor();
    const run = await page.evaluate(
      () =>
        (window as unknown as { lab: { results: { lanes: { lane: string; outcome: string }[] } } }).lab
          .results,
    );
    // All five, the gRPC-Web lane too: its listener is HTTPS with the same certificate.
    expect(run.lanes.map((l) => [l.lane, l.outcome])).toEqual([
      ['rest', 'done'],
      ['streamable-http', 'done'],
      ['sse', 'done'],
      ['websocket', 'done'],
      ['grpc', 'done'],
    ]);
    const protocols = await page.evaluate(() =>
      (performance.getEntriesByType('resource') as PerformanceResourceTiming[]).map((e) => e.nextHopProtocol),
    );
    expect(protocols.length).toBeGreaterThan(0);
    expect(new Set(protocols.filter(Boolean))).toEqual(new Set(['h2']));
    await page.close();
  }, 60_000);

  it.each(['streamable-http', 'sse', 'websocket'] as const)(
    'the %s demo chats over HTTPS',
    async (protocol) => {
      const page = await context.newPage();
      page.on('pageerror', (error) => errors.push(error));
      await page.goto(`${lab.addresses[protocol]}/demo`);
      await page.locator('#state[data-state="open"]').waitFor();
      await page.fill('#input', 'hello over https');
      await page.click('#send');
      const reply = page.locator('.ui-bubble.model[data-finish]').first();
      await reply.waitFor();
      expect(await reply.textContent()).toContain('hello over https');
      await page.close();
    },
    30_000,
  );
});
