/**
 * The WebSocket demo in Debian's Chromium against a real server: the happy path with
 * markdown, HTML as literal text, the readouts and the wire; keyboard-only sending; 390 px; and
 * every recovery state: a rejected message, a stale link, a killed and restarted server, a reload
 * mid-reply.
 */
import { randomUUID } from 'node:crypto';
import type { ChatServer } from '@gtp/core';
import { chromiumAvailable, launchChromium, testConfig } from '@gtp/core/testing';
import { PROFILES, startProxy } from '@gtp/netem';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { createServer } from '../server.ts';

const SCREENSHOTS = new URL('../../lab/screenshots/', import.meta.url).pathname;
const XSS = '**bold** `code` <img src=x onerror="window.pwned=1">';

describe.skipIf(!chromiumAvailable)('the WebSocket demo page in headless Chromium', () => {
  let server: ChatServer;
  let url: string;
  let port: number;
  let browser: Browser;
  const errors: Error[] = [];

  async function startServer(atPort = 0, simTokenDelayMs = 15) {
    server = await createServer({ config: testConfig({ simTtftMs: 0, simTokenDelayMs }) });
    url = await server.listen({ port: atPort, host: '127.0.0.1' });
    port = Number(new URL(url).port);
  }
  beforeAll(async () => {
    await startServer();
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    expect(errors).toEqual([]); // no uncaught error in any page
  });

  async function open(path = '/demo', viewport = { width: 1200, height: 800 }): Promise<Page> {
    const page = await browser.newPage({ viewport });
    page.on('pageerror', (error) => errors.push(error));
    await page.goto(`${url}${path}`);
    await page.locator('#state[data-state="open"]').waitFor();
    return page;
  }
  async function sendAndWait(page: Page, text: string) {
    const before = await page.locator('.ui-bubble.model').count();
    await page.fill('#input', text);
    await page.click('#send');
    await page.locator('.ui-bubble.model').nth(before).and(page.locator('[data-finish]')).waitFor();
  }
  const history = async (sessionId: string) =>
    (
      (await (await fetch(`${url}/sessions/${sessionId}/messages`)).json()) as {
        messages: { role: string; text: string }[];
      }
    ).messages;
  const sessionOf = (page: Page) =>
    page.evaluate(() => (window as unknown as { demo: { sessionId: string } }).demo.sessionId);

  it('streams a reply as markdown; HTML stays literal text; readouts and the wire fill in', async () => {
    const page = await open();
    await sendAndWait(page, XSS);
    const model = page.locator('.ui-bubble.model').last();
    expect(await model.locator('strong').textContent()).toBe('bold');
    expect(await model.locator('code').first().textContent()).toBe('code');
    expect(await page.locator('#transcript img').count()).toBe(0);
    expect(await model.textContent()).toContain('<img src=x onerror="window.pwned=1">');
    expect(await page.locator('.ui-bubble.user .ui-body').textContent()).toBe(XSS);
    expect(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBeUndefined();
    // The page shows what the server stored.
    const stored = (await history(await sessionOf(page))).at(-1)!;
    expect(stored.role).toBe('model');
    expect((await model.locator('.ui-body').textContent())?.replace(/\s+/g, ' ').trim()).toBe(
      stored.text
        .replace(/\*\*|`/g, '')
        .replace(/\s+/g, ' ')
        .trim(),
    );
    expect(await page.textContent('[data-metric="ttft"]')).toMatch(/^\d+ ms$/);
    expect(await page.textContent('[data-metric="tps"]')).toMatch(/^\d+(\.\d)?$/);
    expect(await page.textContent('[data-metric="bytes"]')).toMatch(/^\d+ B|KiB$/);
    expect(await page.locator('#wire li.down', { hasText: '"type":"delta"' }).count()).toBeGreaterThan(3);
    expect(await page.locator('#wire li.down', { hasText: '"type":"done"' }).count()).toBe(1);
    expect(await page.textContent('#announce')).toContain('model:');
    expect(new URL(page.url()).searchParams.get('session')).toBe(await sessionOf(page));
    await page.screenshot({ path: `${SCREENSHOTS}websocket-demo.png` });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.screenshot({ path: `${SCREENSHOTS}websocket-demo-dark.png` });
    await page.close();
  });

  it('sends with the keyboard only, and fits 390 px without horizontal scrolling', async () => {
    const page = await open('/demo', { width: 390, height: 844 });
    for (let i = 0; i < 20 && (await page.evaluate(() => document.activeElement?.id)) !== 'input'; i++) {
      await page.keyboard.press('Tab');
    }
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('input');
    await page.keyboard.type(
      'a long message with a veryveryveryveryveryveryveryveryveryverylongwordthatmustwrap',
    );
    await page.keyboard.press('Enter');
    await page.locator('.ui-bubble.model[data-finish="stop"]').waitFor();
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await page.screenshot({ path: `${SCREENSHOTS}websocket-demo-390.png`, fullPage: true });
    await page.close();
  });

  it('a rejected message is marked not sent and its text is back in the input', async () => {
    const page = await open();
    // One character over MAX_MESSAGE_CHARS (the textarea's maxlength would stop a person): 400.
    const tooLong = 'x'.repeat(16_001);
    await page.evaluate(() => document.getElementById('input')?.removeAttribute('maxlength'));
    await page.fill('#input', tooLong);
    await page.click('#send');
    await page.locator('.ui-bubble.user.not-sent').waitFor();
    expect(await page.inputValue('#input')).toBe(tooLong);
    await page.fill('#input', '');
    await sendAndWait(page, 'accepted now'); // the way forward: send again
    await page.close();
  });

  it('a stale link says the session is gone and offers a new one', async () => {
    const page = await browser.newPage();
    page.on('pageerror', (error) => errors.push(error));
    await page.goto(`${url}/demo?session=${randomUUID()}`);
    await page.locator('#banner', { hasText: 'does not exist' }).waitFor();
    expect(await page.isDisabled('#send')).toBe(true);
    await page.click('#banner button:has-text("Start a new session")');
    await page.locator('#state[data-state="open"]').waitFor();
    await sendAndWait(page, 'fresh start');
    await page.close();
  });

  it('a killed server: says so; restarted: the session is gone, the transcript stays, a new session works', async () => {
    const page = await open();
    await sendAndWait(page, 'before the restart');
    await server.close(); // the socket closes; the page finds the server gone
    await page.locator('#banner', { hasText: 'cannot be reached' }).waitFor();
    await page.locator('#state[data-state="offline"]').waitFor();
    expect(await page.isDisabled('#send')).toBe(true);
    await page.screenshot({ path: `${SCREENSHOTS}websocket-server-down.png` });
    await startServer(port); // a new process: its memory holds no sessions
    await page.locator('#banner', { hasText: 'no longer exists' }).waitFor();
    await page.locator('#state[data-state="gone"]').waitFor();
    expect(await page.locator('.ui-bubble.user.stale', { hasText: 'before the restart' }).count()).toBe(1);
    await page.click('#banner button:has-text("Start a new session")');
    await sendAndWait(page, 'after the restart');
    expect(await page.locator('.ui-bubble', { hasText: 'before the restart' }).count()).toBeGreaterThan(0);
    await page.close();
  });

  it('a reload mid-reply shows the question once and the whole reply once, as stored', async () => {
    // Slow tokens (~5 s a reply) so the reply is still running when the reloaded page asks for
    // it, however long the reload takes on a loaded machine; the next test gets the usual pace.
    await server.close();
    await startServer(port, 150);
    onTestFinished(async () => {
      await server.close();
      await startServer(port);
    });
    const page = await open();
    const sessionId = await sessionOf(page);
    await page.fill('#input', 'reload me');
    await page.click('#send');
    await page.locator('#wire li.down', { hasText: '"type":"delta"' }).nth(2).waitFor();
    await page.reload(); // joins without `after`: the server sends the reply in flight from its start
    await page.locator('.ui-bubble.model[data-finish="stop"]').waitFor();
    expect(await sessionOf(page)).toBe(sessionId);
    // The reloaded page got the reply's start again: the reply was not cut short by the reload.
    expect(await page.locator('#wire li.down', { hasText: '"type":"start"' }).count()).toBe(1);
    const stored = await history(sessionId);
    expect(stored.map((m) => m.role)).toEqual(['user', 'model']);
    expect(stored[1]).not.toHaveProperty('interrupted', true);
    expect(await page.locator('.ui-bubble.user').count()).toBe(1);
    expect(await page.locator('.ui-bubble.model').count()).toBe(1);
    expect((await page.locator('.ui-bubble.model .ui-body').textContent())?.trim()).toBe(
      stored[1]!.text.trim(),
    );
    await page.close();
  });

  it('a connection cut mid-reply rejoins with after = the last seq: exactly the stored text', async () => {
    // The page talks to the server through a loopback proxy that can reset every connection.
    const proxy = await startProxy({ target: { port }, profile: PROFILES.loopback });
    try {
      const page = await browser.newPage();
      page.on('pageerror', (error) => errors.push(error));
      await page.goto(`http://127.0.0.1:${proxy.port}/demo`);
      await page.locator('#state[data-state="open"]').waitFor();
      const sessionId = await sessionOf(page);
      await page.fill('#input', 'cut me');
      await page.click('#send');
      await page.locator('#wire li.down', { hasText: '"type":"delta"' }).nth(3).waitFor();
      expect(proxy.cutAll()).toBeGreaterThan(0);
      await page.locator('.ui-bubble.model[data-finish="stop"]').waitFor();
      // The second join carried `after`, and the reply went on in the same bubble.
      const joins = await page.locator('#wire li.up', { hasText: '"type":"join"' }).allTextContents();
      expect(joins.length).toBe(2);
      expect(Number(/"after":(\d+)/.exec(joins[1]!)?.[1])).toBeGreaterThan(1);
      const stored = await history(sessionId);
      expect(stored.map((m) => m.role)).toEqual(['user', 'model']);
      expect(await page.locator('.ui-bubble.model').count()).toBe(1);
      expect(await page.locator('.ui-bubble.model .ui-tag').count()).toBe(0); // "resuming…" is gone
      expect((await page.locator('.ui-bubble.model .ui-body').textContent())?.trim()).toBe(
        stored[1]!.text.trim(),
      );
      await page.screenshot({ path: `${SCREENSHOTS}websocket-resumed.png` });
      await page.close();
    } finally {
      await proxy.close();
    }
  });

  it('frames both ways are in the wire panel; a second tab sees the same reply', async () => {
    const page = await open();
    const other = await browser.newPage();
    other.on('pageerror', (error) => errors.push(error));
    await other.goto(`${url}/demo?session=${await sessionOf(page)}`);
    await other.locator('#members', { hasText: '2 members' }).waitFor();
    await sendAndWait(page, 'seen by both');
    await other.locator('.ui-bubble.model[data-finish="stop"]').waitFor();
    expect(await page.locator('#wire li.up', { hasText: '"type":"send"' }).count()).toBe(1);
    expect(await page.locator('#wire li.down', { hasText: '"type":"joined"' }).count()).toBe(1);
    expect(await other.locator('.ui-bubble.model .ui-body').textContent()).toBe(
      await page.locator('.ui-bubble.model .ui-body').textContent(),
    );
    await other.close();
    await page.close();
  });
});
