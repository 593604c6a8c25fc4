/**
 * Helpers for the packages' tests (not used at run time): a quiet fast configuration and
 * Debian's Chromium driven by playwright-core (never a downloaded browser).
 */
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';
import { type Config, loadConfig } from '../config.ts';

/** A configuration for tests: silent logs, an instant simulated model unless overridden. */
export function testConfig(overrides: Partial<Config> = {}): Config {
  // No rate limit: tests make many requests from one address; the hardening tests turn it on.
  return {
    ...loadConfig({}),
    logLevel: 'silent',
    simTtftMs: 0,
    simTokenDelayMs: 0,
    rateLimitMax: 0,
    ...overrides,
  };
}

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** In CI the browser must be there (.ci/run installs it); elsewhere its absence skips browser tests. */
export const chromiumAvailable = existsSync(CHROMIUM_PATH) || process.env.CI === 'true';
if (!chromiumAvailable)
  console.warn(`browser tests skipped: no Chromium at ${CHROMIUM_PATH} (apt-get install chromium)`);

/** `extraArgs`: more Chromium flags (e.g. `--disable-http2` to hold a page to HTTP/1.1). */
export function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-quic',
      '--disable-sync',
      ...extraArgs,
    ],
  });
}

export { type DevCertificate, makeDevCertificate, OPENSSL_PATH } from '../dev-cert.ts';
export {
  type DemoServer,
  expectNoHorizontalOverflow,
  expectOneExchangeAsStored,
  expectOversizedMessageRejected,
  expectSafeMarkdownReply,
  expectSessionGoneThenNewSession,
  expectStaleLinkOffersNewSession,
  SCREENSHOT_DIR,
  type StoredMessage,
  screenshotPath,
  sendWithKeyboard,
  useDemoServer,
  XSS,
} from './demo-page.ts';
export { FakeGemini, type FakeGeminiRequest, type FakeGeminiScript } from './fake-gemini.ts';
export { InProcessAdapter } from './in-process-adapter.ts';
export { type OtlpReceiver, type OtlpSpan, otlpReceiver } from './otlp-receiver.ts';
export { freePort, REDIS_SERVER_PATH, RedisServer, redisAvailable } from './redis-server.ts';
