import type { ChatServer } from '@gtp/core';
import { RedisServer, redisAvailable, testConfig } from '@gtp/core/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from '../server.ts';
import { createSession, history, json, SseReader, textOf } from './helpers.ts';

/** Paced, so that a test can act in the middle of a reply. */
const PACED = { simTtftMs: 0, simTokenDelayMs: 15 };

const deltas = (n: number) => (r: SseReader) => r.frames.filter((f) => f.event === 'delta').length >= n;

/** Two SSE instances, each with its own ChatService and hub, sharing one redis-server. */
describe.skipIf(!redisAvailable)('several SSE instances on one Redis (REDIS_URL)', () => {
  let redis: RedisServer;
  const servers: ChatServer[] = [];
  const readers: SseReader[] = [];

  beforeAll(async () => {
    redis = await RedisServer.start();
  });
  afterAll(() => redis?.stop());
  afterEach(async () => {
    await Promise.all(readers.splice(0).map((r) => r.close()));
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  const instance = async (options: { bufferSize?: number } = {}): Promise<string> => {
    const server = await createServer({ config: testConfig({ ...PACED, redisUrl: redis.url }), ...options });
    servers.push(server);
    return server.listen({ port: 0, host: '127.0.0.1' });
  };
  const listen = async (url: string, sessionId: string, headers: Record<string, string> = {}) => {
    const reader = await SseReader.open(`${url}/sessions/${sessionId}/events`, headers);
    readers.push(reader);
    return reader;
  };
  const post = async (url: string, sessionId: string, text: string) => {
    const { status, body } = await json<{ messageId: string }>(
      'POST',
      `${url}/sessions/${sessionId}/messages`,
      {
        text,
      },
    );
    expect(status).toBe(202);
    return body.messageId;
  };

  it('a listener on A receives the reply that B generates, with the same per-session ids', async () => {
    const a = await instance();
    const b = await instance();
    const id = await createSession(a);
    const onA = await listen(a, id);
    const onB = await listen(b, id);
    const messageId = await post(b, id, 'generated on B');
    await onA.untilEvent('done');
    await onB.untilEvent('done');
    expect(onA.events).toEqual(onB.events);
    expect(onA.events.map((e) => e.type)).toEqual([
      'start',
      ...Array(onA.events.length - 2).fill('delta'),
      'done',
    ]);
    expect(onA.events.map((e) => e.id)).toEqual(onA.events.map((_, i) => i + 1));
    expect(onA.events[0]?.data).toMatchObject({ messageId });
    expect((await history(a, id)).at(-1)).toEqual({ role: 'model', text: textOf(onA.events) });

    // The next reply, generated on A this time, continues the same sequence for both.
    await post(a, id, 'and one from A');
    await onB.until((r) => r.events.filter((e) => e.type === 'done').length === 2);
    const ids = onB.events.map((e) => e.id);
    expect(ids).toEqual(ids.map((_, i) => i + 1));
  });

  it('a listener that drops mid-reply resumes on the other instance: no gaps, no duplicates', async () => {
    const a = await instance();
    const b = await instance();
    const id = await createSession(a);
    const witness = await listen(a, id); // never drops
    const first = await listen(a, id);
    await post(b, id, 'resume me elsewhere');
    await first.until(deltas(4));
    await first.close(); // the connection drops in the middle of the reply
    const seen = first.events;
    await witness.until(deltas(seen.length + 3)); // the reply went on without it

    const resumed = await listen(b, id, { 'last-event-id': String(seen.at(-1)!.id) });
    await resumed.untilEvent('done');
    await witness.untilEvent('done');
    const all = [...seen, ...resumed.events];
    expect(all.map((e) => e.id)).toEqual(all.map((_, i) => i + 1));
    expect(all).toEqual(witness.events);
    expect((await history(b, id)).at(-1)).toEqual({ role: 'model', text: textOf(all) });

    // A fresh connection on either instance gets nothing old; an unknown id gets a reset.
    const fresh = await listen(b, id);
    const unknown = await listen(a, id, { 'last-event-id': String(witness.events.at(-1)!.id + 50) });
    await unknown.untilEvent('reset');
    expect(unknown.events[0]).toMatchObject({ id: witness.events.at(-1)!.id, type: 'reset' });
    expect(fresh.events).toEqual([]);
  });

  it('keeps at least bufferSize events; an id older than that gets a reset', async () => {
    const a = await instance({ bufferSize: 5 });
    const b = await instance({ bufferSize: 5 });
    const id = await createSession(a);
    const witness = await listen(a, id);
    // `MAXLEN ~ 5` trims in whole blocks of entries (100 by default), so 30 events are all kept.
    await post(a, id, 'a first reply');
    await witness.untilEvent('done');
    const early = await listen(b, id, { 'last-event-id': '1' });
    await early.until((r) => r.events.length === witness.events.length - 1);
    expect(early.events).toEqual(witness.events.slice(1));

    // Past a block, the oldest events are gone: an id from there cannot be resumed.
    for (let turn = 2; witness.events.length < 150; turn++) {
      await post(b, id, `reply number ${turn}`);
      await witness.until((r) => r.events.filter((e) => e.type === 'done').length === turn);
    }
    const newest = witness.events.at(-1)!.id;
    const stale = await listen(b, id, { 'last-event-id': '1' });
    await stale.untilEvent('reset');
    expect(stale.events).toEqual([
      {
        id: newest,
        type: 'reset',
        data: { type: 'reset', reason: expect.stringContaining('older'), replaying: false },
      },
    ]);
  });

  it('cancel POSTed to A stops the reply running on B and keeps the partial', async () => {
    const a = await instance();
    const b = await instance();
    const id = await createSession(a);
    const onA = await listen(a, id);
    await post(b, id, 'please cancel me from the other instance');
    await onA.until(deltas(3));
    expect(await json('POST', `${a}/sessions/${id}/cancel`)).toEqual({
      status: 200,
      body: { cancelled: true },
    });
    await onA.untilEvent('done');
    expect(onA.events.at(-1)?.data).toMatchObject({ type: 'done', finishReason: 'cancelled' });
    expect(onA.events.filter((e) => e.type === 'delta').length).toBeLessThan(30);
    await expect
      .poll(async () => (await history(a, id)).at(-1))
      .toEqual({ role: 'model', text: textOf(onA.events), interrupted: true });
    expect(await json('POST', `${b}/sessions/${id}/cancel`)).toEqual({
      status: 200,
      body: { cancelled: false },
    });
  });

  it('deleting the session on A ends its streams on B', async () => {
    const a = await instance();
    const b = await instance();
    const id = await createSession(a);
    const onB = await listen(b, id);
    expect((await json('DELETE', `${a}/sessions/${id}`)).status).toBe(204);
    await onB.untilEnded();
    expect((await listen(b, id)).status).toBe(404);
  });

  it('shutdown of the instance running a reply ends it with done (cancelled) for its listeners', async () => {
    const server = await createServer({ config: testConfig({ ...PACED, redisUrl: redis.url }) });
    const url = await server.listen({ port: 0, host: '127.0.0.1' });
    const b = await instance();
    const id = await createSession(url);
    const onA = await listen(url, id);
    const onB = await listen(b, id);
    await post(url, id, 'interrupted by shutdown');
    await onA.until(deltas(2));
    await server.close();
    await onA.untilEnded();
    expect(onA.events.at(-1)?.data).toMatchObject({ type: 'done', finishReason: 'cancelled' });
    await onB.untilEvent('done'); // the other instance's listener sees the same end
    expect(onB.events.at(-1)).toEqual(onA.events.at(-1));
  });
});
