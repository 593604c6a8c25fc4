/**
 * What the demo pages' browser tests share: a real server on an ephemeral 127.0.0.1 port (started
 * again on the same port, as a new process would be), Debian's Chromium, pages that report their
 * uncaught errors, and the few steps every test takes (open the demo, send and wait for the reply,
 * read the stored history). Each test file keeps what it checks.
 */
import { mkdirSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect } from 'vitest';
import type { Config } from '../config.ts';
import type { ChatServer } from '../runtime.ts';
import { launchChromium, testConfig } from './index.ts';

/**
 * Where the tests put their screenshots. A plain run writes them to `test-output/screenshots/` at
 * the repository's root (git-ignored: look at them there); `SCREENSHOTS=1` writes the committed
 * ones in `packages/lab/screenshots/`, which the READMEs show.
 */
export const SCREENSHOT_DIR = new URL(
  process.env.SCREENSHOTS === '1' ? '../../../lab/screenshots/' : '../../../../test-output/screenshots/',
  import.meta.url,
).pathname;

/** The path for the screenshot `name` (e.g. `sse-demo.png`), its folder made if need be. */
export function screenshotPath(name: string): string {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  return `${SCREENSHOT_DIR}${name}`;
}

export interface StoredMessage {
  role: string;
  text: string;
  interrupted?: boolean;
}

export interface DemoServerOptions {
  /** The package's `createServer` with the test configuration. */
  create: (config: Config) => Promise<ChatServer>;
  /** The simulated model's pause between tokens (default 15 ms: a reply takes about half a second). */
  simTokenDelayMs?: number;
}

/** The server and browser of a demo's tests, and the steps every test takes. */
export interface DemoServer {
  /** The server's address (`http://127.0.0.1:port`) and port. */
  url: string;
  port: number;
  /** Uncaught errors of every page this helper made. */
  errors: Error[];
  readonly server: ChatServer;
  readonly browser: Browser;
  /** Start the server: on `port` (default: the one it had, else an ephemeral one). */
  startServer(options?: { port?: number; simTokenDelayMs?: number }): Promise<void>;
  stopServer(): Promise<void>;
  /** A new process on the same port: its memory holds no sessions. */
  restartServer(options?: { simTokenDelayMs?: number }): Promise<void>;
  /** A page whose uncaught errors are collected, not yet navigated. */
  newPage(viewport?: { width: number; height: number }): Promise<Page>;
  /** The demo (`path` on this server, or a whole URL), once it says it is open. */
  open(path?: string, viewport?: { width: number; height: number }): Promise<Page>;
  /** Type `text`, press Send, wait until the reply to it has finished. */
  sendAndWait(page: Page, text: string): Promise<void>;
  /** The session's messages as the server stored them (GET /sessions/:id/messages). */
  history(sessionId: string): Promise<StoredMessage[]>;
  /** The session the page uses (its `window.demo.sessionId`). */
  sessionOf(page: Page): Promise<string>;
}

/**
 * Call inside a `describe`: starts the server and Chromium before its tests and closes both after
 * them, then checks that no page threw an uncaught error.
 */
export function useDemoServer({
  create,
  simTokenDelayMs: defaultDelayMs = 15,
}: DemoServerOptions): DemoServer {
  let server: ChatServer | undefined;
  let browser: Browser | undefined;
  const demo: DemoServer = {
    url: '',
    port: 0,
    /** Uncaught errors of every page this helper made. */
    errors: [] as Error[],
    get server(): ChatServer {
      if (!server) throw new Error('the server is not started');
      return server;
    },
    get browser(): Browser {
      if (!browser) throw new Error('the browser is not started');
      return browser;
    },
    /** Start the server: on `port` (default: the one it had, else an ephemeral one). */
    async startServer({ port = demo.port, simTokenDelayMs = defaultDelayMs } = {}): Promise<void> {
      server = await create(testConfig({ simTtftMs: 0, simTokenDelayMs }));
      demo.url = await server.listen({ port, host: '127.0.0.1' });
      demo.port = Number(new URL(demo.url).port);
    },
    stopServer: (): Promise<void> => server?.close() ?? Promise.resolve(),
    /** A new process on the same port: its memory holds no sessions. */
    async restartServer(options: { simTokenDelayMs?: number } = {}): Promise<void> {
      await demo.stopServer();
      await demo.startServer(options);
    },
    /** A page whose uncaught errors are collected, not yet navigated. */
    async newPage(viewport = { width: 1200, height: 800 }): Promise<Page> {
      const page = await demo.browser.newPage({ viewport });
      page.on('pageerror', (error) => demo.errors.push(error));
      return page;
    },
    /** The demo (`path` on this server, or a whole URL), once it says it is open. */
    async open(path = '/demo', viewport?: { width: number; height: number }): Promise<Page> {
      const page = await demo.newPage(viewport);
      await page.goto(path.startsWith('http') ? path : `${demo.url}${path}`);
      await page.locator('#state[data-state="open"]').waitFor();
      return page;
    },
    /** Type `text`, press Send, wait until the reply to it has finished. */
    async sendAndWait(page: Page, text: string): Promise<void> {
      const before = await page.locator('.ui-bubble.model').count();
      await page.fill('#input', text);
      await page.click('#send');
      await page.locator('.ui-bubble.model').nth(before).and(page.locator('[data-finish]')).waitFor();
    },
    /** The session's messages as the server stored them (GET /sessions/:id/messages). */
    async history(sessionId: string): Promise<StoredMessage[]> {
      const response = await fetch(`${demo.url}/sessions/${sessionId}/messages`);
      return ((await response.json()) as { messages: StoredMessage[] }).messages;
    },
    /** The session the page uses (its `window.demo.sessionId`). */
    sessionOf: (page: Page): Promise<string> =>
      page.evaluate(() => (window as unknown as { demo: { sessionId: string } }).demo.sessionId),
  };
  beforeAll(async () => {
    await demo.startServer();
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    expect(demo.errors).toEqual([]); // no uncaught error in any page
  });
  return demo;
}

/** An XSS probe with markdown in it: it must render as bold and code, its HTML as literal text. */
export const XSS = '**bold** `code` <img src=x onerror="window.pwned=1">';

/**
 * After `sendAndWait(page, XSS)`: the reply is rendered markdown, the HTML in it (and in the
 * question) literal text, nothing ran; the reply on screen is the stored one; the readouts filled.
 */
export async function expectSafeMarkdownReply(demo: DemoServer, page: Page) {
  const model = page.locator('.ui-bubble.model').last();
  expect(await model.locator('strong').textContent()).toBe('bold');
  expect(await model.locator('code').first().textContent()).toBe('code');
  expect(await page.locator('#transcript img').count()).toBe(0);
  expect(await model.textContent()).toContain('<img src=x onerror="window.pwned=1">');
  expect(await page.locator('.ui-bubble.user .ui-body').textContent()).toBe(XSS);
  expect(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBeUndefined();
  // The page shows what the server stored.
  const stored = (await demo.history(await demo.sessionOf(page))).at(-1)!;
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
  expect(await page.textContent('#announce')).toContain('model:');
  expect(new URL(page.url()).searchParams.get('session')).toBe(await demo.sessionOf(page));
}

/** Tab to the input (keyboard only), type a message with a long word, send it with Enter. */
export async function sendWithKeyboard(page: Page): Promise<void> {
  for (let i = 0; i < 20 && (await page.evaluate(() => document.activeElement?.id)) !== 'input'; i++) {
    await page.keyboard.press('Tab');
  }
  expect(await page.evaluate(() => document.activeElement?.id)).toBe('input');
  await page.keyboard.type(
    'a long message with a veryveryveryveryveryveryveryveryveryverylongwordthatmustwrap',
  );
  await page.keyboard.press('Enter');
  await page.locator('.ui-bubble.model[data-finish="stop"]').waitFor();
}

/** The page is no wider than its viewport: nothing scrolls sideways. */
export async function expectNoHorizontalOverflow(page: Page): Promise<void> {
  const width = page.viewportSize()?.width ?? 0;
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(width);
}

/**
 * The page shows the session's one exchange as the server stored it: the question once, the
 * whole reply once (nothing lost, nothing twice, after a reload or a cut connection).
 */
export async function expectOneExchangeAsStored(demo: DemoServer, page: Page, sessionId: string) {
  const stored = await demo.history(sessionId);
  expect(stored.map((m) => m.role)).toEqual(['user', 'model']);
  expect(await page.locator('.ui-bubble.user').count()).toBe(1);
  expect(await page.locator('.ui-bubble.model').count()).toBe(1);
  expect((await page.locator('.ui-bubble.model .ui-body').textContent())?.trim()).toBe(
    stored[1]!.text.trim(),
  );
  return stored;
}

/** A link to a session that does not exist: the page says so, Send is off, a new session works. */
export async function expectStaleLinkOffersNewSession(demo: DemoServer, staleId: string) {
  const page = await demo.newPage();
  await page.goto(`${demo.url}/demo?session=${staleId}`);
  await page.locator('#banner', { hasText: 'does not exist' }).waitFor();
  expect(await page.isDisabled('#send')).toBe(true);
  await page.click('#banner button:has-text("Start a new session")');
  await page.locator('#state[data-state="open"]').waitFor();
  await demo.sendAndWait(page, 'fresh start');
  await page.close();
}

/**
 * After the server came back as a new process: the page says the session is gone, keeps the old
 * transcript (`said` is in it, dimmed), and a new session sends and answers below it.
 */
export async function expectSessionGoneThenNewSession(page: Page, demo: DemoServer, said: string) {
  await page.locator('#banner', { hasText: 'no longer exists' }).waitFor();
  await page.locator('#state[data-state="gone"]').waitFor();
  expect(await page.locator('.ui-bubble.user.stale', { hasText: said }).count()).toBe(1);
  await page.click('#banner button:has-text("Start a new session")');
  await demo.sendAndWait(page, 'after the restart');
  expect(await page.locator('.ui-bubble', { hasText: said }).count()).toBeGreaterThan(0);
}

/**
 * A message one character over MAX_MESSAGE_CHARS (16 000; the textarea's maxlength would stop a
 * person, so the test lifts it): the server refuses it, the page marks it not sent and puts its
 * text back in the input; the way forward, a message that fits, is answered.
 */
export async function expectOversizedMessageRejected(demo: DemoServer, page: Page) {
  const tooLong = 'x'.repeat(16_001);
  await page.evaluate(() => document.getElementById('input')?.removeAttribute('maxlength'));
  await page.fill('#input', tooLong);
  await page.click('#send');
  await page.locator('.ui-bubble.user.not-sent').waitFor();
  expect(await page.inputValue('#input')).toBe(tooLong);
  await page.fill('#input', '');
  await demo.sendAndWait(page, 'accepted now');
}
