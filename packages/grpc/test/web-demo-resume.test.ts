/**
 * The gRPC-Web demo comes back mid-reply (issue 20), in Debian's Chromium against a real server
 * with a slow simulated model (~5 s a reply, so the reply is still running when the page asks):
 * reloaded, the page reads the reply again with ResumeStream from its start; its connection cut
 * (a loopback proxy resets it), it resumes after the last seq it had. Either way it shows exactly
 * the stored reply, once. And with AUTH_TOKEN the page itself is open: opened with
 * ?access_token=, the token leaves the address bar and the calls send it as a header.
 */
import { chromiumAvailable, launchChromium, screenshotPath, testConfig } from '@gtp/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROFILES, startProxy } from '../../netem/src/index.ts';
import { createServer, type GrpcChatServer } from '../server.ts';

const TOKEN = 'web-demo-secret';
type Browser = Awaited<ReturnType<typeof launchChromium>>;
type Page = Awaited<ReturnType<Browser['newPage']>>;
interface DemoState {
  sessionId: string;
  seqs: number[];
  resumes: number;
}

describe.skipIf(!chromiumAvailable)('the gRPC-Web demo resumes a reply (ResumeStream) in Chromium', () => {
  let server: GrpcChatServer;
  let url: string;
  let browser: Browser;
  const errors: Error[] = [];

  beforeAll(async () => {
    server = await createServer({
      config: testConfig({ simTtftMs: 0, simTokenDelayMs: 150, authToken: TOKEN }),
    });
    await server.listen({ port: 0, host: '127.0.0.1' });
    url = server.webUrl!;
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    expect(errors).toEqual([]); // no uncaught error in any page
  });

  async function open(base = url): Promise<Page> {
    const page = await browser.newPage();
    page.on('pageerror', (error) => errors.push(error));
    await page.goto(`${base}/demo?access_token=${TOKEN}`);
    await page.locator('#state[data-state="open"]').waitFor();
    return page;
  }
  const demo = (page: Page) => page.evaluate(() => (window as unknown as { demo: DemoState }).demo);
  const history = async (sessionId: string) => {
    const res = await fetch(`${url}/genai.chat.v1.ChatService/GetHistory`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ sessionId }),
    });
    return ((await res.json()) as { messages: { role: string; text: string }[] }).messages;
  };
  /** The page shows the stored exchange once: one question, one reply with the stored text. */
  async function showsStored(page: Page, sessionId: string) {
    const stored = await history(sessionId);
    expect(stored.map((m) => m.role)).toEqual(['ROLE_USER', 'ROLE_MODEL']);
    expect(await page.locator('.ui-bubble.user').count()).toBe(1);
    expect(await page.locator('.ui-bubble.model').count()).toBe(1);
    expect(await page.locator('.ui-bubble.model .ui-tag').count()).toBe(0); // no "resuming…" left
    expect((await page.locator('.ui-bubble.model .ui-body').textContent())?.trim()).toBe(
      stored[1]!.text.trim(),
    );
  }

  it('the page is open with AUTH_TOKEN; opened with ?access_token= it calls with the header', async () => {
    expect((await fetch(`${url}/demo`)).status).toBe(200);
    const page = await open();
    expect(page.url()).not.toContain('access_token');
    expect((await demo(page)).sessionId).toMatch(/^[0-9a-f-]{36}$/);
    await page.close();
  });

  it('a reload mid-reply reads the reply again from its start: the stored reply, once', async () => {
    const page = await open();
    const { sessionId } = await demo(page);
    await page.fill('#input', 'reload me');
    await page.click('#send');
    await page.waitForFunction(() => (window as unknown as { demo: DemoState }).demo.seqs.length > 3);
    await page.reload();
    await page.locator('.ui-bubble.model[data-finish="stop"]').waitFor({ timeout: 30_000 });
    expect((await demo(page)).sessionId).toBe(sessionId); // the session came back from the URL
    expect(await page.locator('#wire li', { hasText: 'the page reloaded mid-reply' }).count()).toBe(1);
    // The reply came from ResumeStream (the reloaded page sent no StreamMessage).
    expect(await page.locator('#wire li.up', { hasText: '/ResumeStream' }).count()).toBe(1);
    expect(await page.locator('#wire li.up', { hasText: '/StreamMessage' }).count()).toBe(0);
    await showsStored(page, sessionId);
    await page.screenshot({ path: screenshotPath('grpc-web-resumed-reload.png') });

    await page.close();
  }, 60_000);

  it('a connection cut mid-reply resumes after the last seq it had: the stored reply, once', async () => {
    const proxy = await startProxy({
      target: { port: Number(new URL(url).port) },
      profile: PROFILES.loopback,
    });
    try {
      const page = await open(`http://127.0.0.1:${proxy.port}`);
      const { sessionId } = await demo(page);
      await page.fill('#input', 'cut me');
      await page.click('#send');
      await page.waitForFunction(() => (window as unknown as { demo: DemoState }).demo.seqs.length > 3);
      expect(proxy.cutAll()).toBeGreaterThan(0);
      await page.locator('.ui-bubble.model[data-finish="stop"]').waitFor({ timeout: 30_000 });
      const info = await page
        .locator('#wire li', { hasText: 'ResumeStream after seq' })
        .first()
        .textContent();
      expect(Number(/after seq (\d+)/.exec(info ?? '')?.[1])).toBeGreaterThan(1);
      expect((await demo(page)).resumes).toBeGreaterThan(0);
      await showsStored(page, sessionId);
      await page.close();
    } finally {
      await proxy.close();
    }
  }, 60_000);
});
