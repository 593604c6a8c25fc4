/**
 * The SSE demo in Debian's Chromium against a real server: the happy path with
 * markdown, HTML as literal text, the readouts and the wire; keyboard-only sending; 390 px; and
 * every recovery state: a rejected message, a stale link, a killed and restarted server, a reload
 * mid-reply.
 */
import { randomUUID } from 'node:crypto';
import {
  chromiumAvailable,
  expectNoHorizontalOverflow,
  expectOneExchangeAsStored,
  expectOversizedMessageRejected,
  expectSafeMarkdownReply,
  expectSessionGoneThenNewSession,
  expectStaleLinkOffersNewSession,
  screenshotPath,
  sendWithKeyboard,
  useDemoServer,
  XSS,
} from '@gtp/core/testing';
import { PROFILES, startProxy } from '@gtp/netem';
import type { Page } from 'playwright-core';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createServer } from '../server.ts';

describe.skipIf(!chromiumAvailable)('the SSE demo page (native EventSource) in headless Chromium', () => {
  // retry: 100 ms, so EventSource comes back quickly after a dropped stream.
  const demo = useDemoServer({ create: (config) => createServer({ config, retryMs: 100 }) });
  const { open, sendAndWait, history, sessionOf } = demo;
  /** Every event id the page received, in order: 1, 2, 3… when nothing was lost or shown twice. */
  const idsOf = (page: Page) =>
    page.evaluate(() => (window as unknown as { demo: { ids: number[] } }).demo.ids);

  it('streams a reply as markdown; HTML stays literal text; readouts and the wire fill in', async () => {
    const page = await open();
    await sendAndWait(page, XSS);
    await expectSafeMarkdownReply(demo, page);
    expect(await page.locator('#wire li.down', { hasText: 'event: delta' }).count()).toBeGreaterThan(3);
    expect(await page.locator('#wire li.down', { hasText: 'event: done' }).count()).toBe(1);
    await page.screenshot({ path: screenshotPath('sse-demo.png') });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.screenshot({ path: screenshotPath('sse-demo-dark.png') });
    await page.close();
  });

  it('sends with the keyboard only, and fits 390 px without horizontal scrolling', async () => {
    const page = await open('/demo', { width: 390, height: 844 });
    await sendWithKeyboard(page);
    await expectNoHorizontalOverflow(page);
    await page.screenshot({ path: screenshotPath('sse-demo-390.png'), fullPage: true });
    await page.close();
  });

  it('a rejected message is marked not sent and its text is back in the input', async () => {
    const page = await open();
    await expectOversizedMessageRejected(demo, page); // the server answers 400
    await page.close();
  });

  it('a stale link says the session is gone and offers a new one', async () => {
    await expectStaleLinkOffersNewSession(demo, randomUUID());
  });

  it('a killed server: says so; restarted: the session is gone, the transcript stays, a new session works', async () => {
    const page = await open();
    await sendAndWait(page, 'before the restart');
    await demo.stopServer(); // the stream ends; EventSource retries, the page finds the server gone
    await page.locator('#banner', { hasText: 'cannot be reached' }).waitFor();
    await page.locator('#state[data-state="offline"]').waitFor();
    expect(await page.isDisabled('#send')).toBe(true);
    await page.screenshot({ path: screenshotPath('sse-server-down.png') });
    await demo.startServer(); // a new process on the same port: its memory holds no sessions
    await expectSessionGoneThenNewSession(page, demo, 'before the restart');
    await page.close();
  });

  it('a reload mid-reply shows the question once and the whole reply once', async () => {
    // Slow tokens (~5 s a reply) so the reply is still running when the reloaded page asks for
    // it, however long the reload takes on a loaded machine; the next test gets the usual pace.
    await demo.restartServer({ simTokenDelayMs: 150 });
    onTestFinished(() => demo.restartServer());
    const page = await open();
    const sessionId = await sessionOf(page);
    await page.fill('#input', 'reload me');
    await page.click('#send');
    await page.locator('#wire li.down', { hasText: 'event: delta' }).nth(2).waitFor();
    await page.reload(); // a fresh EventSource gets the reply in flight from its start
    await page.locator('.ui-bubble.model[data-finish="stop"]').waitFor();
    expect(await sessionOf(page)).toBe(sessionId);
    await expectOneExchangeAsStored(demo, page, sessionId);
    await page.close();
  });

  it('a dropped stream resumes with Last-Event-ID: no gap, no duplicate', async () => {
    const page = await open();
    await page.fill('#input', 'drop me');
    await page.click('#send');
    await page.locator('#wire li.down', { hasText: 'event: delta' }).nth(3).waitFor();
    await page.click('#drop');
    await page.locator('.ui-bubble.model[data-finish="stop"]').waitFor();
    const ids = await idsOf(page);
    expect(ids).toEqual(ids.map((_, i) => i + 1));
    expect(Number(await page.textContent('#reconnects'))).toBeGreaterThanOrEqual(1);
    const stored = (await history(await sessionOf(page))).at(-1)!;
    expect((await page.locator('.ui-bubble.model .ui-body').textContent())?.trim()).toBe(stored.text.trim());
    await page.close();
  });

  it('a connection cut mid-reply (the TCP link reset): EventSource resumes, exactly the stored text', async () => {
    // The page talks to the server through a loopback proxy that can reset every connection.
    const proxy = await startProxy({ target: { port: demo.port }, profile: PROFILES.loopback });
    try {
      const page = await open(`http://127.0.0.1:${proxy.port}/demo`);
      const sessionId = await sessionOf(page);
      await page.fill('#input', 'cut me');
      await page.click('#send');
      await page.locator('#wire li.down', { hasText: 'event: delta' }).nth(3).waitFor();
      expect(proxy.cutAll()).toBeGreaterThan(0);
      await page.locator('.ui-bubble.model[data-finish="stop"]').waitFor();
      const ids = await idsOf(page);
      expect(ids).toEqual(ids.map((_, i) => i + 1)); // every event once, in order
      expect(Number(await page.textContent('#reconnects'))).toBeGreaterThanOrEqual(1);
      await expectOneExchangeAsStored(demo, page, sessionId);
      await page.close();
    } finally {
      await proxy.close();
    }
  });
});
