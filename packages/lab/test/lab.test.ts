/**
 * The race page in Debian's Chromium against the five real servers (ephemeral ports) behind
 * their netem proxies: every lane finishes with its readouts filled; a lane whose connection is
 * dropped mid-reply shows whether its transport resumed; results are JSON; GET / links the lab.
 */
import { chromiumAvailable, launchChromium, screenshotPath, testConfig } from '@gtp/core/testing';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Lab, startLab } from '../src/lab.ts';

const LANES = ['rest', 'streamable-http', 'sse', 'websocket', 'grpc'];
/** The lanes that resume a dropped reply from the reply log (gRPC-Web with ResumeStream). */
const RESUMING = ['sse', 'streamable-http', 'websocket', 'grpc'];

interface LaneResult {
  lane: string;
  outcome: string;
  requests: number;
  ttftMs: number | null;
  tokens: number;
  bytes: number;
  text: string;
  events: { text: string }[];
  proxy: { connections: number; bytesDown: number };
}

describe.skipIf(!chromiumAvailable)('the lab race page', () => {
  let lab: Lab;
  let browser: Browser;
  const errors: Error[] = [];

  beforeAll(async () => {
    lab = await startLab({
      config: testConfig({ simTtftMs: 50, simTokenDelayMs: 25 }),
      ports: 'ephemeral',
      labPort: 0,
    });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await lab?.close();
    expect(errors).toEqual([]);
  });

  async function open(): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: lab.url });
    const page = await context.newPage();
    page.on('pageerror', (error) => errors.push(error));
    await page.goto(`${lab.url}/lab`);
    await page.locator('#network option').first().waitFor({ state: 'attached' });
    return page;
  }
  const results = (page: Page) =>
    page.evaluate(
      () => (window as unknown as { lab: { results: { lanes: LaneResult[]; network: string } } }).lab.results,
    );

  it('races one prompt over the five browser lanes (gRPC as gRPC-Web); every lane finishes with its readouts', async () => {
    const page = await open();
    await page.click('#go');
    await page.locator('#copy:not([disabled])').waitFor();
    const run = await results(page);
    expect(run.lanes.map((l) => l.lane)).toEqual(LANES);
    const texts = new Set<string>();
    for (const lane of run.lanes) {
      expect(lane.outcome, lane.lane).toBe('done');
      expect(lane.ttftMs, lane.lane).toBeGreaterThanOrEqual(0);
      expect(lane.bytes, lane.lane).toBeGreaterThan(0);
      expect(lane.requests, lane.lane).toBeGreaterThan(0);
      expect(lane.proxy.bytesDown, lane.lane).toBeGreaterThan(lane.bytes / 2); // it went through the proxy
      texts.add(lane.text.trim());
    }
    expect(texts.size).toBe(1); // the same deterministic reply on every transport
    expect(run.lanes.find((l) => l.lane === 'rest')?.tokens).toBe(1); // REST: one answer
    expect(run.lanes.find((l) => l.lane === 'sse')?.tokens).toBeGreaterThan(5);
    for (const lane of LANES) {
      const el = page.locator(`[data-lane="${lane}"]`);
      expect(await el.getAttribute('data-state')).toBe('done');
      expect(await el.locator('[data-metric="ttft"]').textContent()).toMatch(/^\d+ ms$/);
      expect(await el.locator('[data-metric="bytes"]').textContent()).toMatch(/\d/);
      expect(await el.locator('.lab-timeline i').count()).toBeGreaterThan(0);
      expect(await el.locator('.lab-reply strong').textContent()).toBe('streaming'); // the echoed **streaming**, as markdown
    }
    expect(await page.locator('[data-lane="grpc"]').textContent()).toContain('gRPC-Web, not gRPC');
    // Copy as JSON puts the same results on the clipboard.
    await page.click('#copy');
    const copied = JSON.parse(await page.evaluate(() => navigator.clipboard.readText()));
    expect(copied.lanes).toHaveLength(5);
    await page.screenshot({ path: screenshotPath('race.png'), fullPage: true });
    await page.close();
  });

  it('dropped lanes: SSE, NDJSON, WebSocket and gRPC-Web resume with the whole reply once; REST says it cannot', async () => {
    const page = await open();
    await page.selectOption('#network', 'broadband');
    await page.click('#go');
    // Once every streaming lane's reply is under way, drop all five lanes at one instant (REST
    // while its one request runs, unless it already has its answer).
    for (const lane of RESUMING) {
      await page
        .locator(`[data-lane="${lane}"] .lab-reply`)
        .filter({ hasText: /\S+ \S+ \S+/ })
        .waitFor();
    }
    const clicked = await page.evaluate(() =>
      [...document.querySelectorAll<HTMLButtonElement>('[data-lane] .drop:not([disabled])')].map((button) => {
        button.click();
        return button.closest<HTMLElement>('[data-lane]')!.dataset.lane;
      }),
    );
    expect(clicked).toEqual(expect.arrayContaining(RESUMING));
    await page.locator('#copy:not([disabled])').waitFor();
    const run = await results(page);
    expect(run.network).toBe('broadband');
    const stored = new Set<string>();
    for (const name of RESUMING) {
      const lane = run.lanes.find((l) => l.lane === name)!;
      expect(lane.outcome, name).toBe('done, resumed');
      expect(lane.events.map((e) => e.text).join(' '), name).toMatch(/dropped [1-9]/);
      expect(lane.proxy.connections, name).toBeGreaterThanOrEqual(2); // the resume went through the proxy too
      stored.add(lane.text.trim());
    }
    // The whole reply, once, the same on the four (the simulated model is deterministic).
    expect(stored.size).toBe(1);
    expect([...stored][0]).toMatch(/streaming/);
    const rest = run.lanes.find((l) => l.lane === 'rest')!;
    if (rest.events.some((e) => /dropped [1-9]/.test(e.text))) {
      expect(rest.outcome).toBe('done, not resumed');
      expect(rest.events.map((e) => e.text).join(' ')).toMatch(/REST cannot resume/);
    } else expect(rest.outcome).toBe('done'); // it had its answer before the drop
    await page.screenshot({ path: screenshotPath('race-dropped.png'), fullPage: true });

    await page.close();
  });

  it("the lab page sends the demos' security headers and runs no inline script", async () => {
    const response = await fetch(`${lab.url}/lab`);
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('x-frame-options')).toBe('DENY');
    const html = await response.text();
    expect(html).toMatch(/<script type="module" src="\/lab.js"><\/script>/);
    expect(html).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/); // every script is a file
    expect((await fetch(`${lab.url}/lab.js`)).headers.get('content-type')).toMatch(/javascript/);
  });

  it('GET / on every server points to its demo, its docs and the lab; a favicon', async () => {
    for (const [protocol, address] of Object.entries(lab.addresses)) {
      if (protocol === 'grpc') continue;
      const index = await (await fetch(`${address}/`)).text();
      expect(index, protocol).toContain('href="/docs"');
      expect(index, protocol).toContain(':8000/');
      if (protocol !== 'rest') expect(index, protocol).toContain('href="/demo"');
      const icon = await fetch(`${address}/favicon.ico`);
      expect(icon.headers.get('content-type')).toBe('image/svg+xml');
    }
    expect(await (await fetch(`${lab.url}/`)).text()).toContain('href="/lab"');
  });
});
