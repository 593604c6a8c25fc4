/**
 * The Streamable HTTP demo in Debian's Chromium against a real server: the happy path with
 * markdown, HTML as literal text, the readouts and the wire; keyboard-only sending; 390 px; and
 * every recovery state: a rejected message, a stale link, a killed and restarted server, a reload
 * mid-reply.
 */
import { randomUUID } from 'node:crypto';
import {
  chromiumAvailable,
  expectNoHorizontalOverflow,
  expectOneExchangeAsStored,
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

describe.skipIf(!chromiumAvailable)('the NDJSON demo page in headless Chromium', () => {
  const demo = useDemoServer({ create: (config) => createServer({ config }) });
  const { open, sendAndWait, sessionOf } = demo;

  it('streams a reply as markdown; HTML stays literal text; readouts and the wire fill in', async () => {
    const page = await open();
    await sendAndWait(page, XSS);
    await expectSafeMarkdownReply(demo, page);
    expect(await page.locator('#wire li.down', { hasText: '"type":"delta"' }).count()).toBeGreaterThan(3);
    expect(await page.locator('#wire li.down', { hasText: '"type":"done"' }).count()).toBe(1);
    await page.screenshot({ path: screenshotPath('ndjson-demo.png') });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.screenshot({ path: screenshotPath('ndjson-demo-dark.png') });
    await page.close();
  });

  it('sends with the keyboard only, and fits 390 px without horizontal scrolling', async () => {
    const page = await open('/demo', { width: 390, height: 844 });
    await sendWithKeyboard(page);
    await expectNoHorizontalOverflow(page);
    await page.screenshot({ path: screenshotPath('ndjson-demo-390.png'), fullPage: true });
    await page.close();
  });

  it('a rejected message is marked not sent and its text is back in the input', async () => {
    const page = await open();
    const sessionId = await sessionOf(page);
    // Another client keeps the session busy: the page's send gets 409 session_busy.
    const other = await fetch(`${demo.url}/sessions/${sessionId}/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'a long answer please' }),
    });
    await page.fill('#input', 'rejected one');
    await page.click('#send');
    await page.locator('.ui-bubble.user.not-sent', { hasText: 'session' }).waitFor();
    expect(await page.inputValue('#input')).toBe('rejected one');
    await other.text();
    await sendAndWait(page, 'accepted now'); // the way forward: send again
    await page.close();
  });

  it('a stale link says the session is gone and offers a new one', async () => {
    await expectStaleLinkOffersNewSession(demo, randomUUID());
  });

  it('a killed server: says so; restarted: the session is gone, the transcript stays, a new session works', async () => {
    const page = await open();
    await sendAndWait(page, 'before the restart');
    await demo.stopServer();
    await page.fill('#input', 'while it is down');
    await page.click('#send');
    await page.locator('#banner', { hasText: 'cannot be reached' }).waitFor();
    await page.locator('#state[data-state="offline"]').waitFor();
    await page.locator('.ui-bubble.user.not-sent', { hasText: 'while it is down' }).waitFor();
    await page.screenshot({ path: screenshotPath('ndjson-server-down.png') });
    await demo.startServer(); // a new process on the same port: its memory holds no sessions
    await expectSessionGoneThenNewSession(page, demo, 'before the restart');
    await page.close();
  });

  it('a reload mid-reply resumes it: the question once, the whole reply once, as stored', async () => {
    // Slow tokens (~5 s a reply) so the reply is still running when the reloaded page asks for
    // it, however long the reload takes on a loaded machine; the next test gets the usual pace.
    await demo.restartServer({ simTokenDelayMs: 150 });
    onTestFinished(() => demo.restartServer());
    const page = await open();
    const sessionId = await sessionOf(page);
    await page.fill('#input', 'reload me');
    await page.click('#send');
    await page.locator('#wire li.down', { hasText: '"type":"delta"' }).nth(2).waitFor();
    await page.reload();
    // The reloaded page reads the reply from its start (GET …/replies/:messageId?after=) to its end.
    await page.locator('.ui-bubble.model[data-finish="stop"]').waitFor();
    expect(await sessionOf(page)).toBe(sessionId); // the session came back from the URL
    expect(await page.locator('#wire li.up', { hasText: `/replies/` }).count()).toBeGreaterThan(0);
    await expectOneExchangeAsStored(demo, page, sessionId);
    await page.screenshot({ path: screenshotPath('ndjson-resumed-reload.png') });
    await page.close();
  });

  it('a connection cut mid-reply resumes from the last seq: exactly the stored text', async () => {
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
      // It resumed after a line it had (after > 0), not from the start or from the history.
      const resumes = await page.locator('#wire li.up', { hasText: '/replies/' }).allTextContents();
      expect(resumes.length).toBeGreaterThan(0);
      expect(Number(/after=(\d+)/.exec(resumes[0]!)?.[1])).toBeGreaterThan(1);
      await expectOneExchangeAsStored(demo, page, sessionId);
      expect(await page.locator('.ui-bubble.model .ui-tag').count()).toBe(0); // "resuming…" is gone
      await page.close();
    } finally {
      await proxy.close();
    }
  });
});
