/**
 * Eight SSE streams in one browser origin, over HTTP/1.1 and over HTTP/2 (issue 22): Chromium
 * opens at most six HTTP/1.1 connections per origin, and an EventSource holds its connection for
 * as long as it lives, so the seventh and eighth wait until an earlier stream closes; over HTTP/2
 * all eight are streams of one connection. Measured with Debian's Chromium against a real SSE
 * server over TLS; the same server serves both runs, `--disable-http2` holds Chromium to
 * HTTP/1.1 for the first.
 *
 * One page, eight EventSources; each posts its session's message when it opens (the POST goes
 * from Node: from the page it would queue behind the streams too) and closes itself at `done`.
 *
 *   pnpm sse-tabs          → packages/bench/results/sse-tabs.json
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ChatServer, isMain, loadConfig } from '@gtp/core';
import { launchChromium } from '@gtp/core/testing';
import { Agent, request } from 'undici';

export const SSE_TABS = 8;

export interface StreamTiming {
  index: number;
  /** ms from the moment all eight were created: the stream opened, its reply's done arrived, it closed. */
  openedMs: number;
  doneMs: number;
  closedMs: number;
}

export interface SseTabsRun {
  http: '1.1' | '2';
  streams: StreamTiming[];
  /** Streams open before any stream had closed: at most 6 over HTTP/1.1. */
  openTogether: number;
  /** When the last stream's done arrived, ms. */
  allDoneMs: number;
}

/** One run: eight EventSources from one page of `url`'s origin, `http2` or held to HTTP/1.1. */
export async function measureSseTabs(options: {
  url: string;
  ca: Buffer;
  http2: boolean;
  signal: AbortSignal;
  streams?: number;
}): Promise<SseTabsRun> {
  const { url, ca, signal } = options;
  const count = options.streams ?? SSE_TABS;
  const agent = new Agent({ connect: { ca } });
  const post = async (path: string, body: unknown) => {
    const answer = await request(`${url}${path}`, {
      method: 'POST',
      dispatcher: agent,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal,
    });
    return answer.body.json() as Promise<{ id?: string }>;
  };
  const sessions: string[] = [];
  for (let i = 0; i < count; i++) sessions.push(String((await post('/sessions', {})).id));

  const browser = await launchChromium(options.http2 ? [] : ['--disable-http2']);
  try {
    // The development CA is not in Chromium's store: the context accepts the certificate.
    const context = await browser.newContext({ ignoreHTTPSErrors: true, bypassCSP: true });
    const page = await context.newPage();
    const posted: Promise<unknown>[] = [];
    await page.exposeFunction('streamOpened', (index: number) => {
      posted.push(post(`/sessions/${sessions[index]}/messages`, { text: `stream ${index}` }));
    });
    await page.goto(`${url}/health`);
    const protocol = await page.evaluate(
      () => (performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming).nextHopProtocol,
    );
    if (protocol !== (options.http2 ? 'h2' : 'http/1.1'))
      throw new Error(`Chromium negotiated ${protocol}, expected ${options.http2 ? 'h2' : 'http/1.1'}`);
    const streams = await page.evaluate(
      ({ ids }) =>
        new Promise<StreamTiming[]>((resolve) => {
          const t0 = performance.now();
          const timings: StreamTiming[] = ids.map((_, index) => ({
            index,
            openedMs: -1,
            doneMs: -1,
            closedMs: -1,
          }));
          let closed = 0;
          ids.forEach((id, index) => {
            const source = new EventSource(`/sessions/${id}/events`);
            const timing = timings[index] as StreamTiming;
            source.onopen = () => {
              timing.openedMs = performance.now() - t0;
              (window as unknown as { streamOpened(i: number): void }).streamOpened(index);
            };
            source.addEventListener('done', () => {
              timing.doneMs = performance.now() - t0;
              source.close();
              timing.closedMs = performance.now() - t0;
              if (++closed === ids.length) resolve(timings);
            });
          });
        }),
      { ids: sessions },
    );
    await Promise.all(posted);
    const firstClose = Math.min(...streams.map((s) => s.closedMs));
    return {
      http: options.http2 ? '2' : '1.1',
      streams,
      openTogether: streams.filter((s) => s.openedMs < firstClose).length,
      allDoneMs: Math.max(...streams.map((s) => s.doneMs)),
    };
  } finally {
    await browser.close();
    await agent.close();
  }
}

/** Start an SSE server over TLS with a development certificate, run both, write the results. */
async function main(): Promise<void> {
  const { mkdtempSync, readFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { makeDevCertificate } = await import('@gtp/core/testing');
  const { createServer } = await import('@gtp/sse/server');
  const dir = mkdtempSync(join(tmpdir(), 'gtp-sse-tabs-'));
  const cert = makeDevCertificate(dir);
  // A reply of about a second, so the streams overlap the way chat tabs do.
  const config = {
    ...loadConfig({ TLS_CERT_FILE: cert.certFile, TLS_KEY_FILE: cert.keyFile }),
    logLevel: 'silent' as const,
    simTtftMs: 300,
    simTokenDelayMs: 40,
    rateLimitMax: 0,
  };
  const server: ChatServer = await createServer({ config });
  try {
    const url = await server.listen({ port: 0, host: '127.0.0.1' });
    const ca = readFileSync(cert.caFile);
    const signal = AbortSignal.timeout(120_000);
    const runs = [
      await measureSseTabs({ url, ca, http2: false, signal }),
      await measureSseTabs({ url, ca, http2: true, signal }),
    ];
    const file = join(import.meta.dirname, '..', 'results', 'sse-tabs.json');
    const result = {
      measuredAt: new Date().toISOString(),
      browser: 'Debian Chromium (playwright-core), one page, one origin, over TLS',
      reply: { simTtftMs: config.simTtftMs, simTokenDelayMs: config.simTokenDelayMs },
      runs,
    };
    writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
    for (const run of runs) {
      console.log(
        `HTTP/${run.http}: ${run.openTogether} of ${run.streams.length} streams open at once; ` +
          `opened at ${run.streams.map((s) => s.openedMs.toFixed(0)).join(', ')} ms; all done at ${run.allDoneMs.toFixed(0)} ms`,
      );
    }
    console.log(`wrote ${file}`);
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) await main();
