/**
 * Resume over a cut TCP connection (issue 17): a loopback proxy (@gtp/netem) resets the WebSocket
 * after N bytes mid-reply; the client reconnects and sends `join {sessionId, after: <last seq>}`,
 * and the text it read equals the stored reply. A reload (join without `after`) mid-reply gets the
 * reply in flight from its start. In one process, and across two instances on Redis.
 */
import type { ChatServer } from '@gtp/core';
import { RedisServer, redisAvailable, testConfig } from '@gtp/core/testing';
import { type NetworkProxy, PROFILES, startProxy, withConditions } from '@gtp/netem';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from '../server.ts';
import { TestClient } from './ws-test-client.ts';

const PACED = { simTtftMs: 0, simTokenDelayMs: 10 };
const CUT_AFTER_BYTES = 1_500;
const PROMPT = 'tell me about resumable streams, at length please, with every detail you know';

const servers: ChatServer[] = [];
const proxies: NetworkProxy[] = [];
const clients: TestClient[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await Promise.all(proxies.splice(0).map((p) => p.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

type Frame = { type: string; seq?: number; messageId?: string; index?: number; text?: string };

async function serve(config = testConfig(PACED)): Promise<string> {
  const server = await createServer({ config });
  servers.push(server);
  return server.listen({ port: 0, host: '127.0.0.1' });
}

async function connect(url: string): Promise<TestClient> {
  const client = await TestClient.connect(url);
  clients.push(client);
  return client;
}

async function cutting(url: string): Promise<string> {
  const proxy = await startProxy({
    target: { port: Number(new URL(url).port) },
    profile: withConditions(PROFILES.loopback, { cutAfterBytesDown: CUT_AFTER_BYTES }),
  });
  proxies.push(proxy);
  return `http://127.0.0.1:${proxy.port}`;
}

async function storedReply(url: string, id: string): Promise<string> {
  const response = await request(`${url}/sessions/${id}/messages`);
  const { messages } = (await response.body.json()) as { messages: { text: string }[] };
  return messages.at(-1)!.text;
}

const replyFrames = (client: TestClient) =>
  (client.frames as Frame[]).filter((f) => f.seq !== undefined && f.type !== 'reset');

/** The deltas of one reply read in parts: consecutive seqs (none lost, none twice), then the text. */
function joined(frames: Frame[]): string {
  const seqs = frames.map((f) => f.seq!);
  expect(seqs).toEqual(seqs.map((_, i) => seqs[0]! + i));
  expect(frames.at(-1)).toMatchObject({ type: 'done', finishReason: 'stop' });
  return frames.flatMap((f) => (f.type === 'delta' ? [f.text] : [])).join('');
}

async function cutAndResume(origin: string, resumeOn: string): Promise<void> {
  const first = await connect(await cutting(origin));
  const { session } = await first.join();
  first.send({ type: 'send', text: PROMPT });
  await first.closed; // the proxy reset the connection mid-reply
  const before = replyFrames(first);
  expect(before[0]).toMatchObject({ type: 'start' });
  expect(before.some((f) => f.type === 'done')).toBe(false);

  const second = await connect(resumeOn);
  second.send({ type: 'join', sessionId: session.id, after: before.at(-1)!.seq });
  await second.next('joined');
  await second.next('done');
  const after = replyFrames(second);
  expect(after[0]!.seq).toBe(before.at(-1)!.seq! + 1);
  expect(joined([...before, ...after])).toBe(await storedReply(resumeOn, session.id));
}

describe('WebSocket resume after a cut connection', () => {
  it('join {sessionId, after} replays what the member missed, then goes live', async () => {
    const url = await serve();
    await cutAndResume(url, url);
  });

  it('a reload mid-reply (join without after) shows the reply in flight from its start', async () => {
    const url = await serve();
    const asker = await connect(url);
    const { session } = await asker.join();
    asker.send({ type: 'send', text: PROMPT });
    for (let i = 0; i < 6; i++) await asker.next('delta');
    const reloaded = await connect(url);
    reloaded.send({ type: 'join', sessionId: session.id });
    await reloaded.next('done');
    const frames = replyFrames(reloaded);
    expect(frames[0]).toMatchObject({ type: 'start' });
    expect(joined(frames)).toBe(await storedReply(url, session.id));
  });
});

describe.skipIf(!redisAvailable)('WebSocket resume across instances (REDIS_URL)', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await RedisServer.start();
  });
  afterAll(() => redis?.stop());

  it('cut on A, join {after} on B', async () => {
    const config = testConfig({ ...PACED, redisUrl: redis.url });
    await cutAndResume(await serve(config), await serve(config));
  });
});
