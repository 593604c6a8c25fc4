/**
 * The three demos with AUTH_TOKEN set, in Debian's Chromium: opened as /demo?access_token=<token>
 * each chats end to end — fetch() with `Authorization: Bearer`, EventSource with ?access_token=,
 * WebSocket with the `bearer.<base64url(token)>` subprotocol (core's bearerSubprotocol) — the
 * token leaves the address bar (a reload still works), and the design's files and the favicon load.
 * The token has `/`, `+` and `=` in it, which a raw subprotocol could not carry.
 */
import { bearerSubprotocol, type ChatServer } from '@gtp/core';
import { chromiumAvailable, launchChromium, testConfig } from '@gtp/core/testing';
import { createServer as createSseServer } from '@gtp/sse/server';
import { createServer as createNdjsonServer } from '@gtp/streamable-http/server';
import { createServer as createWebSocketServer } from '@gtp/websocket/server';
import type { Browser, Request, Response } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const TOKEN = 'demo/secret+token=';
const UI_ASSETS = ['/ui/ui.css', '/ui/ui.js', '/ui/vendor/marked.js', '/ui/vendor/purify.js', '/favicon.svg'];

const DEMOS = [
  { name: 'streamable-http', create: createNdjsonServer },
  { name: 'sse', create: createSseServer },
  { name: 'websocket', create: createWebSocketServer },
] as const;

describe.skipIf(!chromiumAvailable)('the demos with AUTH_TOKEN, opened with ?access_token=', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  describe.each(DEMOS)('$name', ({ name, create }) => {
    let server: ChatServer;
    let url: string;
    beforeAll(async () => {
      server = await create({ config: testConfig({ authToken: TOKEN, simTtftMs: 0, simTokenDelayMs: 5 }) });
      url = await server.listen({ port: 0, host: '127.0.0.1' });
    });
    afterAll(async () => {
      await server?.close();
    });

    it('chats with the token on every call, drops it from the address bar, loads the UI and favicon', async () => {
      // The token is really required: the API refuses a call without it.
      expect((await fetch(`${url}/sessions`, { method: 'POST' })).status).toBe(401);

      const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
      const errors: Error[] = [];
      const requests: Request[] = [];
      const responses: Response[] = [];
      page.on('pageerror', (error) => errors.push(error));
      page.on('request', (request) => requests.push(request));
      page.on('response', (response) => responses.push(response));
      // The WebSocket handshake's headers, as Chromium sent them (Playwright does not show them).
      const cdp = await page.context().newCDPSession(page);
      const handshakes: Record<string, string>[] = [];
      cdp.on('Network.webSocketWillSendHandshakeRequest', (event) => handshakes.push(event.request.headers));
      await cdp.send('Network.enable');

      await page.goto(`${url}/demo?access_token=${encodeURIComponent(TOKEN)}`);
      await page.locator('#state[data-state="open"]').waitFor();
      await page.fill('#input', 'hello **under a token**');
      await page.click('#send');
      const reply = page.locator('.ui-bubble.model[data-finish]').first();
      await reply.waitFor();
      expect((await reply.locator('.ui-body').textContent())?.trim()).not.toBe('');

      // The token left the address bar; the session id is there.
      expect(page.url()).not.toContain('access_token');
      expect(page.url()).not.toContain(encodeURIComponent(TOKEN));
      expect(new URL(page.url()).searchParams.get('session')).toMatch(/\S/);

      // Nothing this page asked for was refused.
      const refused = responses.filter((r) => r.status() >= 400).map((r) => `${r.status()} ${r.url()}`);
      expect(refused).toEqual([]);
      // The design's files loaded (200) under the token.
      for (const path of UI_ASSETS.filter((p) => p !== '/favicon.svg')) {
        expect(
          responses.some((r) => new URL(r.url()).pathname === path && r.status() === 200),
          path,
        ).toBe(true);
      }
      // The favicon the page links: headless Chromium does not fetch it by itself, so the page does,
      // as the browser would (no header, no query).
      const favicon = await page.evaluate(async () => {
        const href = document.querySelector<HTMLLinkElement>('link[rel="icon"]')!.href;
        const response = await fetch(href);
        return { status: response.status, type: response.headers.get('content-type') };
      });
      expect(favicon).toEqual({ status: 200, type: 'image/svg+xml' });

      // The API calls carried the token as a header; nothing sent it in the URL but EventSource.
      const api = requests.filter((r) => new URL(r.url()).pathname.startsWith('/sessions'));
      const fetched = api.filter((r) => r.resourceType() === 'fetch');
      expect(fetched.length).toBeGreaterThan(0);
      for (const request of fetched) {
        expect(await request.headerValue('authorization'), request.url()).toBe(`Bearer ${TOKEN}`);
        expect(new URL(request.url()).searchParams.has('access_token'), request.url()).toBe(false);
      }
      if (name === 'sse') {
        const streams = api.filter((r) => r.resourceType() === 'eventsource');
        expect(streams.length).toBeGreaterThan(0);
        for (const stream of streams)
          expect(new URL(stream.url()).searchParams.get('access_token')).toBe(TOKEN);
      }
      if (name === 'websocket') {
        expect(handshakes.length).toBeGreaterThan(0);
        const offered = (handshakes[0]!['Sec-WebSocket-Protocol'] ?? '').split(',').map((p) => p.trim());
        expect(offered).toEqual(['genai-chat.v1', bearerSubprotocol(TOKEN)]);
      }

      // A reload (the token is no longer in the URL) keeps the token and reopens the session.
      const sessionId = new URL(page.url()).searchParams.get('session');
      responses.length = 0;
      await page.reload();
      await page.locator('#state[data-state="open"]').waitFor();
      await page.locator('.ui-bubble.model[data-finish]').first().waitFor();
      expect(new URL(page.url()).searchParams.get('session')).toBe(sessionId);
      expect(responses.filter((r) => r.status() >= 400).map((r) => `${r.status()} ${r.url()}`)).toEqual([]);

      expect(errors).toEqual([]);
      await page.close();
    });
  });
});
