/**
 * The gRPC-Web demo (public/demo.{html,js}, bundled by src/web-pages.ts) in Debian's Chromium
 * against a real server: a reply streams over StreamMessage with the frames and the trailer frame
 * on the wire panel, markdown and HTML stay literal text, Stop aborts the call and the server's
 * history marks the reply interrupted, and the page fits 390 px.
 */
import type { ChatServer } from '@gtp/core';
import { chromiumAvailable, launchChromium, screenshotPath, testConfig } from '@gtp/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type GrpcChatServer } from '../server.ts';

const XSS = '**bold** `code` <img src=x onerror="window.pwned=1">';
type Browser = Awaited<ReturnType<typeof launchChromium>>;
type Page = Awaited<ReturnType<Browser['newPage']>>;
interface DemoState {
  sessionId: string;
  seqs: number[];
  frames: { dir: string; flag: number; bytes: number }[];
}

describe.skipIf(!chromiumAvailable)('the gRPC-Web demo page (connect-web) in headless Chromium', () => {
  let server: GrpcChatServer;
  let url: string;
  let browser: Browser;
  const errors: Error[] = [];

  beforeAll(async () => {
    server = await createServer({ config: testConfig({ simTtftMs: 0, simTokenDelayMs: 15 }) });
    await server.listen({ port: 0, host: '127.0.0.1' });
    url = server.webUrl!;
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await (server as ChatServer | undefined)?.close();
    expect(errors).toEqual([]); // no uncaught error in any page
  });

  async function open(viewport = { width: 1200, height: 800 }): Promise<Page> {
    const page = await browser.newPage({ viewport });
    page.on('pageerror', (error) => errors.push(error));
    const response = await page.goto(`${url}/demo`);
    expect(response?.headers()['content-security-policy']).toContain("script-src 'self'");
    await page.locator('#state[data-state="open"]').waitFor();
    return page;
  }
  const demo = (page: Page) => page.evaluate(() => (window as unknown as { demo: DemoState }).demo);
  const history = async (sessionId: string) => {
    const res = await fetch(`${url}/genai.chat.v1.ChatService/GetHistory`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sessionId }),
    });
    return ((await res.json()) as { messages: { role: string; text: string; interrupted?: boolean }[] })
      .messages;
  };

  it('streams a reply over gRPC-Web: data frames, then the trailer frame; HTML stays literal', async () => {
    const page = await open();
    await page.fill('#input', XSS);
    await page.click('#send');
    const model = page.locator('.ui-bubble.model[data-finish="stop"]');
    await model.waitFor();
    expect(await model.locator('strong').textContent()).toBe('bold');
    expect(await page.locator('#transcript img').count()).toBe(0);
    expect(await model.textContent()).toContain('<img src=x onerror="window.pwned=1">');
    expect(await page.locator('.ui-bubble.user .ui-body').textContent()).toBe(XSS);
    expect(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBeUndefined();

    const state = await demo(page);
    // seq 1, 2, 3, … with no gap: start, the deltas, done.
    expect(state.seqs.length).toBeGreaterThan(3);
    expect(state.seqs).toEqual(state.seqs.map((_, i) => state.seqs[0]! + i));
    // The wire: one request frame, data frames (0x00), and the trailers (0x80) last.
    const down = state.frames.filter((f) => f.dir === 'down');
    expect(state.frames.some((f) => f.dir === 'up' && f.flag === 0)).toBe(true);
    await page.locator('#wire li.down', { hasText: 'flag 0x80' }).last().waitFor();
    expect((await demo(page)).frames.filter((f) => f.dir === 'down').at(-1)?.flag).toBe(0x80);
    expect(down.filter((f) => f.flag === 0).length).toBeGreaterThan(3);
    expect(await page.locator('#wire li.down', { hasText: '"delta"' }).count()).toBeGreaterThan(3);
    expect(await page.locator('#wire li.down', { hasText: 'grpc-status: 0' }).count()).toBeGreaterThan(0);
    // What the server stored is what the page shows.
    const stored = (await history(state.sessionId)).at(-1)!;
    expect(stored.role).toBe('ROLE_MODEL');
    expect(stored.text).toContain('<img src=x onerror="window.pwned=1">');
    expect(await page.textContent('[data-metric="ttft"]')).toMatch(/^\d+ ms$/);
    await page.screenshot({ path: screenshotPath('grpc-web-demo.png') });
    await page.close();
  });

  it('Stop (CancelReply) reaches the model: done is cancelled, the history marks the reply interrupted', async () => {
    const page = await open();
    // A long reply at 15 ms a token: Stop lands in the middle of it.
    await page.fill('#input', `${'tell me a long story '.repeat(40)}`);
    await page.click('#send');
    await page.waitForFunction(() => (window as unknown as { demo: DemoState }).demo.seqs.length > 3);
    await page.click('#stop');
    await page.locator('.ui-bubble.model[data-finish="cancelled"]').waitFor();
    const { sessionId } = await demo(page);
    // The server's done event said cancelled (on the wire), and the stored reply is interrupted.
    expect(await page.locator('#wire li', { hasText: 'the model was told to stop' }).count()).toBe(1);
    await page.locator('#wire li.down', { hasText: 'FINISH_REASON_CANCELLED' }).waitFor();
    expect((await history(sessionId)).at(-1)).toMatchObject({ role: 'ROLE_MODEL', interrupted: true });
    // The session goes on: the next message streams to its end.
    await page.fill('#input', 'and now?');
    await page.click('#send');
    await page.locator('.ui-bubble.model[data-finish="stop"]').waitFor();
    await page.close();
  });

  it('fits 390 px without horizontal scrolling', async () => {
    const page = await open({ width: 390, height: 844 });
    await page.fill('#input', 'a veryveryveryveryveryveryveryveryveryverylongwordthatmustwrap');
    await page.keyboard.press('Enter');
    await page.locator('.ui-bubble.model[data-finish="stop"]').waitFor();
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await page.screenshot({ path: screenshotPath('grpc-web-demo-390.png'), fullPage: true });

    await page.close();
  });
});
