/**
 * The WebSocket demo in Debian's Chromium against a real server: the happy path with
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
import { describe, expect, it, onTestFinished } from 'vitest';
import { createServer } from '../server.ts';

describe.skipIf(!chromiumAvailable)('the WebSocket demo page in headless Chromium', () => {
  const demo = useDemoServer({ create: (config) => createServer({ config }) });
  const { open, sendAndWait, sessionOf } = demo;

  it('streams a reply as markdown; HTML stays literal text; readouts and the wire fill in', async () => {
    const page = await open();
    await sendAndWait(page, XSS);
    await expectSafeMarkdownReply(demo, page);
    expect(await page.locator('#wire li.down', { hasText: '"type":"delta"' }).count()).toBeGreaterThan(3);
    expect(await page.locator('#wire li.down', { hasText: '"type":"done"' }).count()).toBe(1);
    await page.screenshot({ path: screenshotPath('websocket-demo.png') });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.screenshot({ path: screenshotPath('websocket-demo-dark.png') });
    await page.close();
  });

  it('sends with the keyboard only, and fits 390 px without horizontal scrolling', async () => {
    const page = await open('/demo', { width: 390, height: 844 });
    await sendWithKeyboard(page);
    await expectNoHorizontalOverflow(page);
    await page.screenshot({ path: screenshotPath('websocket-demo-390.png'), fullPage: true });
    await page.close();
  });

  it('a rejected message is marked not sent and its text is back in the input', async () => {
    const page = await open();
    await expectOversizedMessageRejected(demo, page); // the server answers with an error frame
    await page.close();
  });

  it('a stale link says the session is gone and offers a new one', async () => {
    await expectStaleLinkOffersNewSession(demo, randomUUID());
  });

  it('a killed server: says so; restarted: the session is gone, the transcript stays, a new session works', async () => {
    const page = await open();
    await sendAndWait(page, 'before the restart');
    await demo.stopServer(); // the socket closes; the page finds the server gone
    await page.locator('#banner', { hasText: 'cannot be reached' }).waitFor();
    await page.locator('#state[data-state="offline"]').waitFor();
    expect(await page.isDisabled('#send')).toBe(true);
    await page.screenshot({ path: screenshotPath('websocket-server-down.png') });
    await demo.startServer(); // a new process on the same port: its memory holds no sessions
    await expectSessionGoneThenNewSession(page, demo, 'before the restart');
    await page.close();
  });

  it('a reload mid-reply shows the question once and the whole reply once, as stored', async () => {
    // Slow tokens (~5 s a reply) so the reply is still running when the reloaded page asks for
    // it, however long the reload takes on a loaded machine; the next test gets the usual pace.
    await demo.restartServer({ simTokenDelayMs: 150 });
    onTestFinished(() => demo.restartServer());
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
    const stored = await expectOneExchangeAsStored(demo, page, sessionId);
    expect(stored[1]).not.toHaveProperty('interrupted', true);
    await page.close();
  });

  it('a connection cut mid-reply rejoins with after = the last seq: exactly the stored text', async () => {
    // The page talks to the server through a loopback proxy that can reset every connection.
    const proxy = await startProxy({ target: { port: demo.port }, profile: PROFILES.loopback });
    try {
      const page = await open(`http://127.0.0.1:${proxy.port}/demo`);
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
      await expectOneExchangeAsStored(demo, page, sessionId);
      expect(await page.locator('.ui-bubble.model .ui-tag').count()).toBe(0); // "resuming…" is gone
      await page.screenshot({ path: screenshotPath('websocket-resumed.png') });
      await page.close();
    } finally {
      await proxy.close();
    }
  });

  it('frames both ways are in the wire panel; a second tab sees the same reply', async () => {
    const page = await open();
    const other = await demo.newPage();
    await other.goto(`${demo.url}/demo?session=${await sessionOf(page)}`);

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
