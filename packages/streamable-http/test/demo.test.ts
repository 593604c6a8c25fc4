import { chromiumAvailable, launchChromium } from '@gtp/core/testing';
import type { Browser, Page } from 'playwright-core';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Started, start } from './helpers.ts';

async function history(url: string) {
  const sessions = (await (await request(`${url}/sessions`)).body.json()) as { sessions: { id: string }[] };
  const id = sessions.sessions.at(-1)!.id;
  const body = (await (await request(`${url}/sessions/${id}/messages`)).body.json()) as {
    messages: { role: string; text: string; interrupted?: boolean }[];
  };
  return body.messages;
}

async function send(page: Page, text: string) {
  await page.fill('#input', text);
  await page.click('#send');
}

describe.skipIf(!chromiumAvailable)('the /demo page in headless Chromium', () => {
  let browser: Browser;
  let running: Started;

  beforeAll(async () => {
    // Paced like a real model, so that Stop has something to stop.
    running = await start({ model: { tokenDelayMs: 20 } });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await running?.close();
  });

  it('streams the reply into the page, with live TTFT and tokens/s; HTML stays text', async () => {
    const page = await browser.newPage();
    await page.goto(`${running.url}/demo`);
    await page.waitForSelector('#send:not([disabled])');
    await expect.poll(() => page.textContent('#session')).toMatch(/^session [0-9a-f-]{36}$/);

    const text = '<b>bold?</b> <img src=x onerror="window.pwned=1">';
    await send(page, text);
    // Part of the reply is on the page while the rest is still being written.
    await page.waitForFunction(() => (document.querySelector('.msg.model')?.textContent ?? '').length > 0);
    expect(await page.isEnabled('#stop')).toBe(true);
    await page.waitForFunction(() => document.querySelector('#status')?.textContent?.startsWith('done'));

    const reply = await page.textContent('.msg.model');
    expect(reply).toContain('Turn 1: you said "<b>bold?</b>');
    expect(await page.textContent('.msg.user')).toBe(text);
    expect(await page.locator('#log b, #log img').count()).toBe(0);
    expect(await page.evaluate(() => (window as { pwned?: number }).pwned)).toBeUndefined();
    expect(await page.textContent('#ttft')).toMatch(/^\d+ ms$/);
    expect(await page.textContent('#tps')).toMatch(/^\d+(\.\d)?$/);
    const messages = await history(running.url);
    expect(messages.map((m) => m.role)).toEqual(['user', 'model']);
    expect(messages[1]!.text).toBe(reply);
    await page.close();
  });

  it('Stop aborts the fetch, the server keeps the partial reply, and the session goes on', async () => {
    const page = await browser.newPage();
    await page.goto(`${running.url}/demo`);
    await page.waitForSelector('#send:not([disabled])');
    await send(page, 'a long answer please');
    await page.waitForFunction(() => Number(document.querySelector('#tokens')?.textContent) >= 3);
    await page.click('#stop');
    await page.waitForFunction(() => document.querySelector('#status')?.textContent?.startsWith('stopped'));
    expect(await page.textContent('.msg.model .note')).toBe('[stopped]');
    const shown = (await page.textContent('.msg.model'))!.replace('[stopped]', '');

    await expect.poll(async () => (await history(running.url)).length).toBe(2);
    const partial = (await history(running.url))[1]!;
    expect(partial.interrupted).toBe(true);
    expect(partial.text.startsWith(shown)).toBe(true);

    // The next message in the same session works.
    await send(page, 'and again');
    await page.waitForFunction(() => document.querySelector('#status')?.textContent?.startsWith('done'));
    expect(await page.locator('.msg.model').count()).toBe(2);

    // New session starts an empty conversation.
    await page.click('#new');
    await expect.poll(() => page.locator('.msg').count()).toBe(0);
    await page.close();
  });
});
