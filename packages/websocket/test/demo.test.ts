import type { ChatServer } from '@gtp/core';
import { chromiumAvailable, launchChromium, testConfig } from '@gtp/core/testing';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from '../server.ts';

describe.skipIf(!chromiumAvailable)('the /demo page in headless Chromium', () => {
  let browser: Browser;
  let server: ChatServer;
  let url: string;

  beforeAll(async () => {
    browser = await launchChromium();
    server = await createServer({ config: testConfig({ simTokenDelayMs: 40 }) });
    url = await server.listen({ port: 0 });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('two tabs share one session: messages, typing, the streaming reply, Stop', async () => {
    const context = await browser.newContext();
    const alice = await context.newPage();
    const bob = await context.newPage();
    const pageErrors: string[] = [];
    for (const page of [alice, bob]) page.on('pageerror', (error) => pageErrors.push(error.message));

    // Alice opens the demo: a new session, whose id lands in the URL hash (the link to share).
    await alice.goto(`${url}/demo`);
    await alice.locator('#status[data-state="open"]').waitFor();
    const sessionId = new URL(alice.url()).hash.slice(1);
    expect(sessionId).toMatch(/^[0-9a-f-]{36}$/);

    // Bob opens the shared link.
    await bob.goto(`${url}/demo#${sessionId}`);
    await bob.locator('#status[data-state="open"]').waitFor();
    await expect.poll(() => bob.locator('#session').textContent()).toBe(sessionId);
    await expect.poll(() => alice.locator('#members').textContent()).toBe('2 members');

    // Alice types: Bob sees it.
    await alice.locator('#text').pressSequentially('<img src=x onerror="window.pwned=1">');
    await expect.poll(() => bob.locator('#typing').textContent()).toMatch(/is typing…/);

    // Alice sends markup: both show it as text, never as HTML; both see the reply stream.
    await alice.locator('#send').click();
    const markup = '<img src=x onerror="window.pwned=1">';
    await expect.poll(() => bob.locator('.msg.user .text').last().textContent()).toBe(markup);
    await expect.poll(() => alice.locator('.msg.user.mine .text').last().textContent()).toBe(markup);
    for (const page of [alice, bob]) {
      await page.locator('.msg.model[data-finish="stop"]').waitFor();
      expect(await page.locator('.msg.model .text').last().textContent()).toContain(
        'Turn 1: you said "<img src=x',
      );
      expect(await page.locator('#log img').count()).toBe(0);
      expect(await page.evaluate(() => (window as { pwned?: number }).pwned)).toBeUndefined();
    }
    expect(await bob.locator('#typing').textContent()).toBe('');

    // Bob asks, Alice presses Stop mid-reply: both see it cancelled.
    await bob.locator('#text').fill('a second question');
    await bob.locator('#send').click();
    await alice.locator('#stop:not([disabled])').click(); // enabled from the reply's start to its end
    for (const page of [alice, bob]) await page.locator('.msg.model[data-finish="cancelled"]').waitFor();
    expect((await server.chat.history(sessionId)).at(-1)).toMatchObject({ role: 'model', interrupted: true });

    // Bob closes his tab: Alice's member count drops.
    await bob.close();
    await expect.poll(() => alice.locator('#members').textContent()).toBe('1 member');
    expect(pageErrors).toEqual([]);
    await context.close();
  });

  it('with AUTH_TOKEN: ?access_token= in the page URL becomes the bearer. subprotocol', async () => {
    const token = 'demo-token-42';
    const guarded = await createServer({ config: testConfig({ authToken: token }) });
    const guardedUrl = await guarded.listen({ port: 0 });
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      // The socket's URL is plain /ws and a page cannot set headers on it: the subprotocol carries the token.
      await page.goto(`${guardedUrl}/demo?access_token=${token}`);
      await page.locator('#status[data-state="open"]').waitFor();
      await page.locator('#text').fill('behind a token');
      await page.locator('#send').click();
      await page.locator('.msg.model[data-finish="stop"]').waitFor();
      expect(await page.locator('.msg.model .text').last().textContent()).toContain('behind a token');
      // Reload: the history comes over fetch() with the Bearer header.
      await page.reload();
      await expect.poll(() => page.locator('.msg.past').count()).toBe(2);

      // Without the token the page is refused (the HTML itself needs it too), and so is its socket.
      const refused = await context.newPage();
      const response = await refused.goto(`${guardedUrl}/demo`);
      expect(response?.status()).toBe(401);
    } finally {
      await context.close();
      await guarded.close();
    }
  });
});
