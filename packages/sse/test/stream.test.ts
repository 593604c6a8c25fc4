import { connect } from 'node:net';
import { type ChatServer, ChatService, MemorySessionStore, Stats } from '@gtp/core';
import { testConfig } from '@gtp/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type SseServerOptions } from '../server.ts';
import { BulkModel, createSession, history, json, SseReader, textOf } from './helpers.ts';

/** Paced like a slow model, so that a test can act in the middle of a reply. */
const PACED = { simTtftMs: 0, simTokenDelayMs: 15 };

const servers: ChatServer[] = [];
const readers: SseReader[] = [];

async function start(options: SseServerOptions = {}): Promise<string> {
  const server = await createServer({ config: testConfig(PACED), ...options });
  servers.push(server);
  return server.listen({ port: 0, host: '127.0.0.1' });
}

async function listen(
  url: string,
  sessionId: string,
  headers: Record<string, string> = {},
): Promise<SseReader> {
  const reader = await SseReader.open(`${url}/sessions/${sessionId}/events`, headers);
  readers.push(reader);
  return reader;
}

async function post(url: string, sessionId: string, text: string): Promise<string> {
  const { status, body } = await json<{ messageId: string }>(
    'POST',
    `${url}/sessions/${sessionId}/messages`,
    { text },
  );
  expect(status).toBe(202);
  return body.messageId;
}

const deltas = (n: number) => (r: SseReader) => r.frames.filter((f) => f.event === 'delta').length >= n;

afterEach(async () => {
  await Promise.all(readers.splice(0).map((r) => r.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe('GET /sessions/:id/events', () => {
  it('streams every ChatEvent as event/id/data with strictly increasing ids, after a retry hint', async () => {
    const url = await start({ retryMs: 1234 });
    const id = await createSession(url);
    const reader = await listen(url, id);
    expect(reader.status).toBe(200);
    expect(reader.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(reader.headers['cache-control']).toContain('no-cache');
    expect(reader.headers['x-accel-buffering']).toBe('no');
    expect(reader.headers['content-encoding']).toBeUndefined();

    const messageId = await post(url, id, 'hello events');
    await reader.untilEvent('done');
    expect(reader.frames[0]?.retry).toBe('1234');
    const events = reader.events;
    expect(events.map((e) => e.type)).toEqual(['start', ...Array(events.length - 2).fill('delta'), 'done']);
    for (const e of events) {
      expect(e.type).toBe(e.data.type); // `event:` is the ChatEvent's type
      if (e.type !== 'delta') expect('messageId' in e.data && e.data.messageId).toBe(messageId);
    }
    // A delta is `event: delta`, its `id:` and its text as a JSON string: nothing said twice.
    for (const f of reader.frames.filter((f) => f.event === 'delta')) {
      expect(Object.keys(f)).toEqual(['event', 'id', 'data', 'at']);
      expect(typeof JSON.parse(f.data!)).toBe('string');
    }
    expect(events.map((e) => e.id)).toEqual(events.map((_, i) => i + 1));

    // A second turn continues the same per-session sequence.
    await post(url, id, 'and again');
    await reader.until((r) => r.events.filter((e) => e.type === 'done').length === 2);
    const ids = reader.events.map((e) => e.id);
    expect(ids).toEqual(ids.map((_, i) => i + 1));
    const [, model] = (await history(url, id)).slice(2);
    expect(textOf(reader.events.filter((e) => e.id > events.length))).toBe(model?.text);
  });

  it('replays exactly the missing events to a reconnect with Last-Event-ID: no duplicates, no gaps', async () => {
    const url = await start();
    const id = await createSession(url);
    const witness = await listen(url, id); // stays connected all along
    const first = await listen(url, id);
    await post(url, id, 'resume me');
    await first.until(deltas(5));
    await first.close(); // the connection drops in the middle of the reply
    const seen = first.events;
    await witness.until(deltas(seen.length + 3)); // the reply went on while nobody was on `first`

    const resumed = await listen(url, id, { 'last-event-id': String(seen.at(-1)!.id) });
    await resumed.untilEvent('done');
    await witness.untilEvent('done');
    const all = [...seen, ...resumed.events];
    expect(all.map((e) => e.id)).toEqual(witness.events.map((e) => e.id));
    expect(all.map((e) => e.id)).toEqual(all.map((_, i) => i + 1));
    expect(resumed.events[0]?.id).toBe(seen.at(-1)!.id + 1);
    const model = (await history(url, id)).at(-1);
    expect(model).toEqual({ role: 'model', text: textOf(all) });
  });

  it('gives a fresh connection the reply in flight from its start', async () => {
    const url = await start();
    const id = await createSession(url);
    await post(url, id, 'first turn');
    await expect.poll(async () => (await history(url, id)).length).toBe(2);
    const early = await listen(url, id);
    expect(early.events).toEqual([]); // nothing in flight: no replay of finished replies
    await post(url, id, 'second turn');
    await early.until(deltas(4));
    const late = await listen(url, id);
    await late.untilEvent('done');
    await early.untilEvent('done');
    expect(late.events[0]?.type).toBe('start');
    expect(late.events).toEqual(early.events);
  });

  it('sends a reset for an id older than the buffer or unknown, and treats a malformed id as none', async () => {
    const url = await start({ bufferSize: 5 });
    const id = await createSession(url);
    const witness = await listen(url, id);
    await post(url, id, 'long enough to overflow five events');
    await witness.untilEvent('done');
    const latest = witness.events.at(-1)!.id;

    const stale = await listen(url, id, { 'last-event-id': '1' });
    await stale.untilEvent('reset');
    expect(stale.events).toEqual([
      {
        id: latest,
        type: 'reset',
        data: { type: 'reset', reason: expect.stringContaining('older'), replaying: false },
      },
    ]);
    const future = await listen(url, id, { 'last-event-id': String(latest + 100) });
    await future.untilEvent('reset');
    expect(future.events[0]?.data).toMatchObject({ reason: expect.stringContaining('unknown') });

    // Malformed: a fresh connection, which gets the reply in flight from its start (not a reset,
    // not a replay of the buffer).
    await post(url, id, 'second reply');
    await witness.until((r) => r.events.at(-1)!.id > latest + 2);
    const malformed = await listen(url, id, { 'last-event-id': 'not-a-number' });
    await malformed.untilEvent('done');
    expect(malformed.events[0]).toMatchObject({ id: latest + 1, type: 'start' });
    expect(malformed.events.some((e) => e.type === 'reset')).toBe(false);
  });

  it('sends comment heartbeats at the configured interval', async () => {
    const url = await start({ config: testConfig({ heartbeatMs: 50 }) });
    const reader = await listen(url, await createSession(url));
    await reader.until((r) => r.frames.filter((f) => f.comment === 'heartbeat').length >= 2);
  });

  it('answers 404 for an unknown session before any event', async () => {
    const url = await start();
    const reader = await listen(url, '6f1c1a52-8a4b-4bd4-9e4e-4f0c2c6b0e11');
    await reader.untilEnded();
    expect(reader.status).toBe(404);
    expect(reader.headers['content-type']).toMatch(/^application\/json/);
    expect(reader.frames).toEqual([]);
  });
});

describe('several listeners', () => {
  it('all see the same events; cancel stops the reply for all and keeps the partial text', async () => {
    const url = await start();
    const id = await createSession(url);
    const a = await listen(url, id);
    const b = await listen(url, id);
    await post(url, id, 'please cancel me');
    await a.until(deltas(3));
    const cancel = await json('POST', `${url}/sessions/${id}/cancel`);
    expect(cancel).toEqual({ status: 200, body: { cancelled: true } });
    await a.untilEvent('done');
    await b.untilEvent('done');
    expect(a.events).toEqual(b.events);
    const done = a.events.at(-1)!.data;
    expect(done).toMatchObject({ type: 'done', finishReason: 'cancelled' });
    const model = (await history(url, id)).at(-1);
    expect(model).toEqual({ role: 'model', text: textOf(a.events), interrupted: true });
    // The full reply is far longer than what was streamed before the cancel.
    expect(a.events.filter((e) => e.type === 'delta').length).toBeLessThan(30);
    expect(await json('POST', `${url}/sessions/${id}/cancel`)).toEqual({
      status: 200,
      body: { cancelled: false },
    });
  });

  it('closing a stream is not a cancel: the reply completes', async () => {
    const url = await start();
    const id = await createSession(url);
    const only = await listen(url, id);
    await post(url, id, 'keep going without me');
    await only.until(deltas(2));
    const lastId = only.lastId!;
    await only.close();
    const back = await listen(url, id, { 'last-event-id': lastId });
    await back.untilEvent('done');
    expect(back.events.at(-1)?.data).toMatchObject({ finishReason: 'stop' });
    expect((await history(url, id)).at(-1)?.interrupted).toBeUndefined();
  });

  it('a listener that does not read does not delay the others, and is dropped past its queue limit', async () => {
    // 200 chunks of 64 KiB (12.5 MiB) overflow any loopback socket buffer; the reply cap
    // (MAX_REPLY_CHARS) is lifted above them, so the listener's own queue limit is what is tested.
    const config = testConfig({ maxReplyChars: 201 * 64 * 1024 });
    const chat = new ChatService({
      store: new MemorySessionStore(),
      model: new BulkModel(200, 64 * 1024),
      stats: new Stats('sse'),
      maxReplyChars: config.maxReplyChars,
    });
    const url = await start({ config, chat, maxQueuedBytes: 256 * 1024 });
    const id = await createSession(url);

    // The slow listener: a raw socket that sends the request and then never reads.
    const { port } = new URL(url);
    const slow = connect(Number(port), '127.0.0.1');
    await new Promise<void>((resolve) => slow.once('connect', resolve));
    slow.write(`GET /sessions/${id}/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n`);
    slow.pause();
    const fast = await listen(url, id);
    const stats = async () => (await json<{ connections: { active: number } }>('GET', `${url}/stats`)).body;
    await expect.poll(async () => (await stats()).connections.active).toBe(2);

    await post(url, id, 'flood');
    await fast.untilEvent('done', 10_000);
    expect(fast.events.filter((e) => e.type === 'delta')).toHaveLength(200);
    // The server cut the slow one off instead of queueing 12.5 MiB for it.
    await expect.poll(async () => (await stats()).connections.active).toBe(1);
    slow.destroy();
  }, 20_000);
});

describe('POST /sessions/:id/messages: bad input', () => {
  it('refuses with the contract errors and leaves the history unchanged', async () => {
    const url = await start({ config: testConfig({ ...PACED, maxMessageChars: 20 }) });
    const id = await createSession(url);
    const missing = '6f1c1a52-8a4b-4bd4-9e4e-4f0c2c6b0e11';
    const code = async (path: string, body: unknown) => {
      const r = await json<{ error: { code: string } }>('POST', `${url}${path}`, body);
      return [r.status, r.body.error.code];
    };
    expect(await code(`/sessions/${missing}/messages`, { text: 'hi' })).toEqual([404, 'session_not_found']);
    expect(await code(`/sessions/${id}/messages`, { text: 5 })).toEqual([400, 'invalid_request']);
    expect(await code(`/sessions/${id}/messages`, {})).toEqual([400, 'invalid_request']);
    expect(await code(`/sessions/${id}/messages`, { text: '   ' })).toEqual([400, 'invalid_request']);
    expect(await code(`/sessions/${id}/messages`, '{"text": ')).toEqual([400, 'invalid_request']);
    expect(await code(`/sessions/${id}/messages`, { text: 'x'.repeat(21) })).toEqual([
      413,
      'payload_too_large',
    ]);
    expect(await code(`/sessions/${missing}/cancel`, undefined)).toEqual([404, 'session_not_found']);
    expect(await history(url, id)).toEqual([]);

    const reader = await listen(url, id);
    await post(url, id, 'busy now');
    expect(await code(`/sessions/${id}/messages`, { text: 'me too' })).toEqual([409, 'session_busy']);
    await reader.untilEvent('done');
    expect((await history(url, id)).map((m) => m.role)).toEqual(['user', 'model']);
    expect(reader.events.filter((e) => e.type === 'start')).toHaveLength(1);
  });
});

describe('lifecycle', () => {
  it('close() ends a reply in flight with done (cancelled), then ends the streams', async () => {
    const server = await createServer({ config: testConfig({ simTtftMs: 0, simTokenDelayMs: 50 }) });
    const url = await server.listen({ port: 0, host: '127.0.0.1' });
    const id = await createSession(url);
    const reader = await listen(url, id);
    await post(url, id, 'interrupted by shutdown');
    await reader.until(deltas(1));
    await server.close();
    await reader.untilEnded();
    expect(reader.events.at(-1)?.data).toMatchObject({ type: 'done', finishReason: 'cancelled' });
  });

  it('deleting the session ends its streams; drop ends them so that clients reconnect', async () => {
    const url = await start();
    const id = await createSession(url);
    const a = await listen(url, id);
    expect(await json('POST', `${url}/sessions/${id}/events/drop`)).toEqual({
      status: 200,
      body: { dropped: 1 },
    });
    await a.untilEnded();
    const b = await listen(url, id);
    expect((await json('DELETE', `${url}/sessions/${id}`)).status).toBe(204);
    await b.untilEnded();
    expect((await listen(url, id)).status).toBe(404);
  });
});
