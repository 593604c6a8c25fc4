/**
 * Resume over a cut TCP connection (issue 17): a loopback proxy (@gtp/netem) resets the event
 * stream after N bytes mid-reply; the client reconnects with Last-Event-ID and the text it read
 * equals the stored reply, in one process and across two instances on Redis (cut on A, resume on B).
 */
import type { ChatServer } from '@gtp/core';
import { RedisServer, redisAvailable, testConfig } from '@gtp/core/testing';
import { type NetworkProxy, PROFILES, startProxy, withConditions } from '@gtp/netem';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from '../server.ts';
import { createSession, history, json, SseReader } from './helpers.ts';

const PACED = { simTtftMs: 0, simTokenDelayMs: 10 };
const CUT_AFTER_BYTES = 1_200;
const PROMPT = 'tell me about resumable streams, at length please, with every detail you know';

const servers: ChatServer[] = [];
const proxies: NetworkProxy[] = [];
const readers: SseReader[] = [];
afterEach(async () => {
  await Promise.all(readers.splice(0).map((r) => r.close()));
  await Promise.all(proxies.splice(0).map((p) => p.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function serve(config = testConfig(PACED)): Promise<string> {
  const server = await createServer({ config });
  servers.push(server);
  return server.listen({ port: 0, host: '127.0.0.1' });
}

async function cutting(url: string): Promise<string> {
  const proxy = await startProxy({
    target: { port: Number(new URL(url).port) },
    profile: withConditions(PROFILES.loopback, { cutAfterBytesDown: CUT_AFTER_BYTES }),
  });
  proxies.push(proxy);
  return `http://127.0.0.1:${proxy.port}`;
}

async function open(url: string, id: string, headers: Record<string, string> = {}): Promise<SseReader> {
  const reader = await SseReader.open(`${url}/sessions/${id}/events`, headers);
  readers.push(reader);
  return reader;
}

/** Cut mid-reply, resume on `resumeOn`: the two parts join into exactly the stored reply. */
async function cutAndResume(origin: string, resumeOn: string): Promise<void> {
  const id = await createSession(origin);
  const first = await open(await cutting(origin), id);
  const { status } = await json('POST', `${origin}/sessions/${id}/messages`, { text: PROMPT });
  expect(status).toBe(202);
  await first.untilEnded(10_000);
  expect(first.events.some((e) => e.type === 'done')).toBe(false); // cut before the end
  const lastId = first.lastId!;
  const second = await open(resumeOn, id, { 'last-event-id': lastId });
  await second.untilEvent('done', 10_000);
  const events = [...first.events, ...second.events];
  const ids = events.map((e) => e.id);
  expect(ids).toEqual(ids.map((_, i) => ids[0]! + i)); // none lost, none twice
  const text = events.flatMap((e) => (e.data.type === 'delta' ? [e.data.text] : [])).join('');
  expect(text).toBe((await history(resumeOn, id)).at(-1)!.text);
}

describe('SSE resume after a cut connection', () => {
  it('Last-Event-ID on reconnect: the text equals the stored reply', async () => {
    const url = await serve();
    await cutAndResume(url, url);
  });
});

describe.skipIf(!redisAvailable)('SSE resume across instances (REDIS_URL)', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await RedisServer.start();
  });
  afterAll(() => redis?.stop());

  it('cut on A, resumed on B', async () => {
    const config = testConfig({ ...PACED, redisUrl: redis.url });
    await cutAndResume(await serve(config), await serve(config));
  });
});
