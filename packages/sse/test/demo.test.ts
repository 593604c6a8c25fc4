import type { ChatServer } from '@gtp/core';
import { chromiumAvailable, launchChromium, testConfig } from '@gtp/core/testing';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from '../server.ts';
import { history } from './helpers.ts';

interface DemoState {
  sessionId: string;
  ids: number[];
  reconnects: number;
  mine: unknown;
}

describe.skipIf(!chromiumAvailable)('GET /demo in headless Chromium (native EventSource)', () => {
  let server: ChatServer;
  let url: string;
  let browser: Browser;

  beforeAll(async () => {
    server = await createServer({ config: testConfig({ simTtftMs: 0, simTokenDelayMs: 20 }), retryMs: 100 });
    url = await server.listen({ port: 0, host: '127.0.0.1' });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  const demoState = (page: Page) =>
    page.evaluate(() => (window as unknown as { sseDemo: DemoState }).sseDemo);

  async function openDemo(): Promise<Page> {
    const page = await browser.newPage();
    await page.goto(`${url}/demo`);
    await page.locator('#status', { hasText: 'open' }).waitFor();
    return page;
  }

  it('resumes a reply through a forced drop without losing or repeating an event', async () => {
    const page = await openDemo();
    await page.fill('#text', 'hello from <b>the browser</b>');
    await page.click('#send');
    await page.waitForFunction(() => (window as unknown as { sseDemo: DemoState }).sseDemo.ids.length >= 5);
    await page.click('#drop'); // the server ends the stream; the browser reconnects with Last-Event-ID
    await page.waitForFunction(() => {
      const s = (window as unknown as { sseDemo: DemoState }).sseDemo;
      return s.mine === undefined && s.reconnects === 1;
    });

    const state = await demoState(page);
    expect(state.ids).toEqual(state.ids.map((_, i) => i + 1)); // no gap, no duplicate
    const model = (await history(url, state.sessionId)).at(-1);
    expect(model?.role).toBe('model');
    expect(await page.locator('.msg.model .text').last().textContent()).toBe(model?.text);
    // Text is never parsed as HTML.
    expect(await page.locator('.msg.user .text').first().textContent()).toBe('hello from <b>the browser</b>');
    expect(await page.locator('#transcript b').count()).toBe(0);
    expect(await page.locator('#ttft').textContent()).toMatch(/^\d+ ms$/);
    expect(await page.locator('#tps').textContent()).toMatch(/^\d+(\.\d)?$/);
    await page.close();
  });

  it('Stop cancels the reply and another tab sees the same stream', async () => {
    const page = await openDemo();
    const { sessionId } = await demoState(page);
    const other = await browser.newPage();
    await other.goto(`${url}/demo?session=${sessionId}`);
    await other.locator('#status', { hasText: 'open' }).waitFor();

    await page.fill('#text', 'stop me please');
    await page.click('#send');
    await page.waitForFunction(() => (window as unknown as { sseDemo: DemoState }).sseDemo.ids.length >= 4);
    await page.click('#stop');
    await page.locator('.msg.model.interrupted').waitFor();
    await other.locator('.msg.model.interrupted').waitFor();

    const model = (await history(url, sessionId)).at(-1);
    expect(model).toMatchObject({ role: 'model', interrupted: true });
    expect(await page.locator('.msg.model .text').last().textContent()).toBe(model?.text);
    expect(await other.locator('.msg.model .text').last().textContent()).toBe(model?.text);
    expect((await demoState(other)).ids).toEqual((await demoState(page)).ids);
    await other.close();
    await page.close();
  });

  it('with AUTH_TOKEN, the page takes ?access_token= from its URL for fetch and EventSource', async () => {
    const token = 'demo-token';
    const guarded = await createServer({
      config: testConfig({ simTtftMs: 0, simTokenDelayMs: 5, authToken: token }),
    });
    const guardedUrl = await guarded.listen({ port: 0, host: '127.0.0.1' });
    const page = await browser.newPage();
    try {
      await page.goto(`${guardedUrl}/demo?access_token=${token}`);
      await page.locator('#status', { hasText: 'open' }).waitFor();
      await page.fill('#text', 'hello with a token');
      await page.click('#send');
      await page.waitForFunction(
        () => (window as unknown as { sseDemo: DemoState }).sseDemo.mine === undefined,
      );
      await page.locator('.msg.model').waitFor();
      expect(new URL(page.url()).searchParams.get('access_token')).toBe(token); // a reload still works
      const { sessionId } = await demoState(page);
      const stored = await fetch(`${guardedUrl}/sessions/${sessionId}/messages`, {
        headers: { authorization: `Bearer ${token}` },
      });
      const { messages } = (await stored.json()) as { messages: { role: string; text: string }[] };
      expect(messages.map((m) => m.role)).toEqual(['user', 'model']);
      expect(await page.locator('.msg.model .text').last().textContent()).toBe(messages[1]?.text);
    } finally {
      await page.close();
      await guarded.close();
    }
  });
});
