/**
 * The reply lifecycle across instances, on the shared reply log (issue 15 items 2, 3, 9), with a
 * real redis-server started here:
 * - (2) the instance running a reply is a child process, SIGKILLed mid-reply: the SSE listener,
 *   the WebSocket member and the NDJSON resumer on the other instances each get a final `error`
 *   (`unavailable`, saying the reply's instance stopped); the session takes a new turn within a
 *   few seconds (lock TTL 5 s) and its history alternates.
 * - (3) `CLIENT KILL TYPE normal`, then `TYPE pubsub`, mid-reply: every listener on both
 *   instances gets the rest of the reply or a final event, never silence; history alternates.
 * - (9) deletion through one instance and protocol ends the listeners on the others and removes
 *   the session's stream; expiry (a small SESSION_TTL_MS) ends them too, the stream expires, and
 *   the memory log forgets expired sessions (its size, a count, not RSS).
 * Times are printed (the README's table comes from a run), never compared with a threshold:
 * each outcome must arrive within BOUND_MS or the test fails.
 */
import { randomUUID } from 'node:crypto';
import { ChatService, MemoryReplyLog, type Message } from '@gtp/core';
import { connectRedisClient, type RedisClient, type RedisReplyLog } from '@gtp/core/redis';
import { RedisServer, redisAvailable, testConfig } from '@gtp/core/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startServerProcess } from '../src/child.ts';
import { EventQueue, type FaultEvent, isFinal } from '../src/events.ts';
import { HttpJson, pumpNdjson, pumpSse, rawRequest } from '../src/http.ts';
import { alternates, type Running, target } from '../src/targets.ts';
import { WsClient } from '../src/ws.ts';

/** Every outcome must arrive within this (a hang fails the test instead of stalling it). */
const BOUND_MS = 15_000;
/** The reply lock's TTL for these servers (REDIS_LOCK_TTL_MS): a dead holder's lock frees within it. */
const LOCK_TTL_MS = 5_000;

const results: string[] = [];
const cleanup: (() => Promise<unknown> | unknown)[] = [];

afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await Promise.resolve(step()).catch(() => undefined);
});

/** Polls `check` until it says true; how long that took (bounded). */
async function until(check: () => Promise<boolean> | boolean, what: string): Promise<number> {
  const startedAt = performance.now();
  while (performance.now() - startedAt < BOUND_MS) {
    if (await Promise.resolve(check()).catch(() => false)) return Math.round(performance.now() - startedAt);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`${what}: not within ${BOUND_MS} ms`);
}

/** A listener of some kind on some instance: what it received, and when its final event came. */
interface Listener {
  name: string;
  events: FaultEvent[];
  /** performance.now() of its final event (done / error), or of the end of its stream. */
  endedAt: number | undefined;
  ended: boolean;
  close(): void;
}

function collect(name: string, queue: EventQueue, close: () => void): Listener {
  const listener: Listener = { name, events: [], endedAt: undefined, ended: false, close };
  void (async () => {
    for (;;) {
      const event = await queue.next(10 * BOUND_MS).catch(() => undefined);
      if (!event) break;
      listener.events.push(event);
      if (isFinal(event) && listener.endedAt === undefined) listener.endedAt = performance.now();
    }
    listener.ended = true;
    listener.endedAt ??= performance.now();
  })();
  return listener;
}

/** An SSE listener on a session's event stream (no Last-Event-ID: the reply in flight from its start). */
async function sseListener(base: string, sessionId: string, name = `SSE on ${base}`): Promise<Listener> {
  const queue = new EventQueue();
  const exchange = rawRequest(`${base}/sessions/${sessionId}/events`, {
    method: 'GET',
    headers: { accept: 'text/event-stream' },
  });
  const res = await exchange.response;
  expect(res.statusCode).toBe(200);
  pumpSse(res, queue);
  const listener = collect(name, queue, () => exchange.destroy());
  cleanup.push(() => exchange.destroy());
  return listener;
}

/** A WebSocket member of the session's room. */
async function wsMember(base: string, sessionId: string, name = `WebSocket on ${base}`) {
  const ws = new WsClient(`${base.replace(/^http/, 'ws')}/ws`);
  cleanup.push(() => ws.close());
  await ws.join(sessionId);
  const queue = new EventQueue();
  const frames: string[] = [];
  ws.onFrame((frame) => {
    frames.push(frame.type);
    if (['start', 'delta', 'done', 'error'].includes(frame.type)) queue.push(frame as unknown as FaultEvent);
  });
  void ws.closed.then(() => queue.end());
  return { listener: collect(name, queue, () => ws.close()), ws, frames };
}

/** An NDJSON reader of one reply from a seq (what a client whose POST dropped does). */
async function ndjsonResumer(base: string, sessionId: string, messageId: string, after: number) {
  const queue = new EventQueue();
  const exchange = rawRequest(`${base}/sessions/${sessionId}/replies/${messageId}?after=${after}`, {
    method: 'GET',
  });
  const res = await exchange.response;
  expect(res.statusCode).toBe(200);
  pumpNdjson(res, queue);
  cleanup.push(() => exchange.destroy());
  return collect(`NDJSON resume on ${base}`, queue, () => exchange.destroy());
}

const deltas = (listener: Listener) => listener.events.filter((e) => e.type === 'delta').length;
const final = (listener: Listener) => listener.events.find(isFinal);

/** One turn through the NDJSON POST of `base`: the events, or a refusal as an error event. */
async function turn(base: string, sessionId: string, text: string): Promise<FaultEvent[]> {
  const client = target('streamable-http').connect(base);
  try {
    return await (await client.reply(sessionId, text)).events.rest(BOUND_MS);
  } finally {
    await client.close();
  }
}

describe.skipIf(!redisAvailable)('the reply lifecycle across instances (Redis)', () => {
  let redis: RedisServer;
  let admin: RedisClient;

  beforeAll(async () => {
    redis = await RedisServer.start();
    admin = await connectRedisClient({ url: redis.url });
  });
  afterAll(async () => {
    admin?.destroy();
    await redis?.stop();
    console.log(`\nReply lifecycle under faults, this run:\n${results.join('\n')}`);
  });

  /** In-process instances of the given protocols, all on this Redis. */
  async function instances<P extends 'sse' | 'websocket' | 'streamable-http'>(
    protocols: P[],
    extra: Parameters<typeof testConfig>[0] = {},
  ): Promise<Record<P, Running>> {
    const config = testConfig({
      redisUrl: redis.url,
      redisLockTtlMs: LOCK_TTL_MS,
      simTokenDelayMs: 40,
      ...extra,
    });
    const out = {} as Record<P, Running>;
    for (const protocol of protocols) {
      const run = await target(protocol).start({ config });
      cleanup.push(() => run.close());
      out[protocol] = run;
    }
    return out;
  }

  it('(2) the instance running a reply is SIGKILLed: every listener elsewhere gets a final unavailable error, the session is usable again, history alternates', {
    timeout: 180_000,
  }, async () => {
    const others = await instances(['sse', 'websocket', 'streamable-http']);
    // The producer: an SSE server in a process of its own, so it can die without a word.
    const producer = await startServerProcess(
      'sse',
      {
        REDIS_URL: redis.url,
        REDIS_LOCK_TTL_MS: String(LOCK_TTL_MS),
        SIM_TTFT_MS: '0',
        SIM_TOKEN_DELAY_MS: '150', // a long reply: it is still running when the process dies
        LOG_LEVEL: 'silent',
        RATE_LIMIT_MAX: '0',
      },
      60_000,
    );
    cleanup.push(() => producer.child.kill('SIGKILL'));
    const onProducer = new HttpJson(producer.url);
    cleanup.push(() => onProducer.close());

    const sessionId = await new HttpJson(others.sse.url).createSession();
    expect((await turn(others['streamable-http'].url, sessionId, 'a first turn')).at(-1)?.type).toBe('done');

    const sse = await sseListener(others.sse.url, sessionId, 'SSE listener (other instance)');
    const member = await wsMember(others.websocket.url, sessionId, 'WebSocket member (other instance)');
    const started = await onProducer.call('POST', `/sessions/${sessionId}/messages`, {
      text: 'tell me a long story',
    });
    expect(started.status).toBe(202);
    const { messageId } = started.body as { messageId: string };
    await until(() => deltas(sse) >= 3 && deltas(member.listener) >= 3, 'deltas on the other instances');
    const resumer = await ndjsonResumer(others['streamable-http'].url, sessionId, messageId, 2);
    await until(() => resumer.events.some((e) => e.type === 'delta'), 'the NDJSON resumer reading');

    const killedAt = performance.now();
    producer.child.kill('SIGKILL');
    expect((await producer.exited).signal).toBe('SIGKILL');
    const listeners = [sse, member.listener, resumer];
    await until(() => listeners.every((l) => l.endedAt !== undefined), 'a final event on every listener');
    const line: Record<string, string | number> = {};
    for (const listener of listeners) {
      const last = final(listener);
      expect(last, `${listener.name}: ${JSON.stringify(listener.events.slice(-3))}`).toBeDefined();
      expect(last).toMatchObject({ type: 'error', error: { code: 'unavailable' } });
      expect((last as { error: { message: string } }).error.message).toMatch(/instance stopped/);
      expect((last as { messageId?: string }).messageId).toBe(messageId);
      // Once: nothing after the final error.
      expect(listener.events.filter(isFinal)).toHaveLength(1);
      line[listener.name] = Math.round(listener.endedAt! - killedAt);
    }

    // The lock of the dead holder frees (TTL): a new turn via another instance runs to its end.
    let lastRefusal = '';
    const usableMs = await until(async () => {
      const events = await turn(others['streamable-http'].url, sessionId, 'are you still there?');
      const last = events.at(-1);
      if (last?.type === 'done') return true;
      lastRefusal = JSON.stringify(last);
      expect(last?.type === 'error' ? last.error.code : last?.type, lastRefusal).toBe('session_busy');
      await new Promise((resolve) => setTimeout(resolve, 200));
      return false;
    }, 'the session usable again');
    line['next turn done'] = Math.round(performance.now() - killedAt);
    results.push(
      `(2) SIGKILL of the producer, ms after the kill: ${JSON.stringify(line)} (busy for ${usableMs} ms of polling)`,
    );

    const history: Message[] = await new HttpJson(others.sse.url).history(sessionId);
    expect(alternates(history), JSON.stringify(history.map((m) => m.role))).toBe(true);
    expect(history.at(-1)?.role).toBe('model');
    expect(history.at(-2)?.text).toBe('are you still there?');
  });

  for (const type of ['normal', 'pubsub'] as const) {
    it(`(3) CLIENT KILL TYPE ${type} mid-reply: every listener on both instances gets the rest or a final event, never silence`, {
      timeout: 120_000,
    }, async () => {
      const first = await instances(['sse']);
      const second = await instances(['sse', 'websocket']);
      const api = new HttpJson(first.sse.url);
      cleanup.push(() => api.close());
      const sessionId = await api.createSession();
      const listeners = [
        await sseListener(first.sse.url, sessionId, 'SSE, producing instance'),
        await sseListener(second.sse.url, sessionId, 'SSE, other instance'),
        (await wsMember(second.websocket.url, sessionId, 'WebSocket, other instance')).listener,
      ];
      const started = await api.call('POST', `/sessions/${sessionId}/messages`, { text: 'a story, please' });
      expect(started.status).toBe(202);
      await until(() => listeners.every((l) => deltas(l) >= 3), 'the reply under way everywhere');
      const killedAt = performance.now();
      const killed = Number(await admin.sendCommand(['CLIENT', 'KILL', 'TYPE', type]));
      expect(killed).toBeGreaterThan(0);
      await until(() => listeners.every((l) => l.endedAt !== undefined), 'a final event on every listener');
      const line: Record<string, string> = {};
      const outcomes = new Set<string>();
      for (const listener of listeners) {
        const last = final(listener);
        expect(
          last,
          `${listener.name} ended in silence: ${JSON.stringify(listener.events.slice(-2))}`,
        ).toBeDefined();
        const outcome = last!.type === 'error' ? `error ${last!.error.code}` : last!.type;
        outcomes.add(outcome);
        line[listener.name] = `${outcome} at ${Math.round(listener.endedAt! - killedAt)} ms`;
        // Whatever it got, it got it in order and once: delta seqs n, n+1, n+2… without a hole.
        const seqs = listener.events
          .filter((e) => e.type === 'delta')
          .map((e) => (e as { seq?: number }).seq);
        expect(seqs[0]).toBeTypeOf('number');
        expect(seqs).toEqual(seqs.map((_, i) => seqs[0]! + i));
      }
      // Every listener saw the same ending: the log is one.
      expect(outcomes.size, JSON.stringify(line)).toBe(1);
      results.push(`(3) CLIENT KILL TYPE ${type}: ${JSON.stringify(line)}`);

      // The session goes on: a new turn (any instance) ends, and history alternates.
      const workedMs = await until(
        async () => (await postTurnViaSse(second.sse.url, sessionId)) === 'done',
        'a next turn',
      );
      results.push(`    next turn after the kill ended within ${workedMs} ms of polling`);
      const history = await api.history(sessionId);
      expect(alternates(history), JSON.stringify(history.map((m) => m.role))).toBe(true);
    });
  }

  it('(9) delete through one instance and protocol ends the listeners and rooms on the others and removes the stream', {
    timeout: 60_000,
  }, async () => {
    const run = await instances(['sse', 'websocket', 'streamable-http']);
    const sessionId = await new HttpJson(run.sse.url).createSession();
    expect((await turn(run['streamable-http'].url, sessionId, 'hello')).at(-1)?.type).toBe('done');
    expect(await admin.exists(`gtp:log:${sessionId}`)).toBe(1);
    const sse = await sseListener(run.sse.url, sessionId);
    const member = await wsMember(run.websocket.url, sessionId);
    // The SSE listener reads the log (a feed); the WebSocket room reads it while a reply runs.
    const logs = [run.sse, run.websocket].map((r) => r.server.chat.log as RedisReplyLog);
    expect(logs[0]!.feedCount).toBe(1);

    const api = new HttpJson(run['streamable-http'].url);
    cleanup.push(() => api.close());
    const deletedAt = performance.now();
    expect((await api.call('DELETE', `/sessions/${sessionId}`)).status).toBe(204);
    await until(() => sse.ended, 'the SSE stream ended');
    await until(() => member.frames.includes('error'), 'the WebSocket member told');
    expect(member.ws.frames.find((f) => f.type === 'error')).toMatchObject({
      error: { code: 'session_not_found' },
    });
    await until(() => logs.every((log) => log.feedCount === 0), 'no feed left for the deleted session');
    expect(await admin.exists(`gtp:log:${sessionId}`)).toBe(0);
    expect(await admin.exists(`gtp:log:${sessionId}:lease`)).toBe(0);
    results.push(
      `(9) delete via NDJSON: SSE and WebSocket on other instances ended ${Math.round(performance.now() - deletedAt)} ms after`,
    );
  });

  it('(9) session expiry (SESSION_TTL_MS) reaches the listeners on every instance; the streams expire', {
    timeout: 60_000,
  }, async () => {
    const ttlMs = 2_000;
    const run = await instances(['sse', 'streamable-http'], { sessionTtlMs: ttlMs, simTokenDelayMs: 0 });
    const sessions: string[] = [];
    for (let i = 0; i < 10; i++) {
      const id = await new HttpJson(run.sse.url).createSession();
      expect((await turn(run['streamable-http'].url, id, `turn ${i}`)).at(-1)?.type).toBe('done');
      sessions.push(id);
    }
    const keys = sessions.map((id) => `gtp:log:${id}`);
    expect(Number(await admin.exists(keys))).toBe(10);
    const pttl = await admin.pTTL(keys[0]!);
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(ttlMs);
    const sse = await sseListener(run.sse.url, sessions[0]!);
    const log = run.sse.server.chat.log as RedisReplyLog;
    expect(log.feedCount).toBe(1);
    const expiredAfterMs = await until(
      async () => Number(await admin.exists(keys)) === 0,
      'every stream expired',
    );
    const endedAfterMs = await until(
      () => sse.ended && log.feedCount === 0,
      'the listener of an expired session ended',
    );
    results.push(
      `(9) expiry (TTL ${ttlMs} ms): streams gone ${expiredAfterMs} ms, listener ended ${endedAfterMs} ms after that`,
    );
  });
});

describe('(9) the memory log forgets expired and deleted sessions', () => {
  it('its size goes back down after SESSION_TTL_MS, and at once on delete', { timeout: 60_000 }, async () => {
    const ttlMs = 4_000;
    const config = testConfig({ sessionTtlMs: ttlMs });
    const chat = ChatService.fromConfig(config, 'streamable-http');
    const run = await target('streamable-http').start({ config, chat });
    cleanup.push(() => run.close());
    const log = chat.log as MemoryReplyLog;
    expect(log).toBeInstanceOf(MemoryReplyLog);
    const api = new HttpJson(run.url);
    cleanup.push(() => api.close());
    // In parallel, well within the TTL: every session's events are in the log at once.
    const sessions = await Promise.all(
      Array.from({ length: 25 }, async (_, i) => {
        const id = await api.createSession();
        expect((await turn(run.url, id, `turn ${i}`)).at(-1)?.type).toBe('done');
        return id;
      }),
    );
    expect(log.size).toBe(25);
    const deleted = sessions[0]!;
    expect((await api.call('DELETE', `/sessions/${deleted}`)).status).toBe(204);
    expect(log.size).toBe(24);
    const forgottenMs = await until(() => log.size === 0, 'expired sessions forgotten');
    results.push(
      `(9) memory log: 24 expired sessions forgotten ${forgottenMs} ms after the last turn (TTL ${ttlMs} ms)`,
    );
    // A resume of an unknown session is refused without leaving an entry in the log.
    expect((await api.call('GET', `/sessions/${randomUUID()}/replies/${randomUUID()}`)).status).toBe(404);
    expect(log.size).toBe(0);
  });
});

/** A turn through SSE's POST, read on its event stream: the final event's type. */
async function postTurnViaSse(base: string, sessionId: string): Promise<string | undefined> {
  const listener = await sseListener(base, sessionId, 'next turn');
  const api = new HttpJson(base);
  try {
    const started = await api.call('POST', `/sessions/${sessionId}/messages`, { text: 'next' });
    if (started.status !== 202) return `refused ${started.status}`;
    await until(() => listener.endedAt !== undefined, 'the next turn');
    const last = final(listener);
    return last?.type;
  } finally {
    listener.close();
    await api.close();
  }
}
