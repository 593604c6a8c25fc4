/**
 * A burst over the limits:
 * - RATE_LIMIT_MAX requests per window per client address on every HTTP server (the four with
 *   Fastify routes): past it, 429 rate_limited with retry-after; /health stays open.
 * - RATE_LIMIT_MAX frames per window on one WebSocket: past it, an `error` frame rate_limited for
 *   each dropped frame, the connection stays open; a client that keeps going is closed (1008).
 * - MAX_CONCURRENT_STREAMS replies in flight on one server, all five: past it, the next reply is
 *   refused as rate_limited (429, an `error` frame, gRPC RESOURCE_EXHAUSTED) and the ones running
 *   are untouched.
 */
import { testConfig } from '@gtp/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { grpc } from '../src/grpc.ts';
import { HttpJson } from '../src/http.ts';
import { eventually, type Running, TARGETS, target } from '../src/targets.ts';
import { WsClient } from '../src/ws.ts';

const MAX = 5;
const WINDOW_MS = 60_000;

let run: Running | undefined;
afterEach(async () => {
  await run?.close();
  run = undefined;
});

describe.each(['rest', 'streamable-http', 'sse', 'websocket'] as const)(
  '%s: a burst of requests',
  (protocol) => {
    it(`past ${MAX} requests a window: 429 rate_limited with retry-after; /health stays open`, async () => {
      run = await target(protocol).start({
        config: testConfig({ rateLimitMax: MAX, rateLimitWindowMs: WINDOW_MS }),
      });
      const api = new HttpJson(run.url);
      try {
        const answers = [];
        for (let i = 0; i < MAX + 3; i++) answers.push(await api.call('GET', '/sessions'));
        expect(answers.map((a) => a.status)).toEqual([...Array(MAX).fill(200), 429, 429, 429]);
        const refused = answers.at(-1)!;
        expect(refused.body).toMatchObject({ error: { code: 'rate_limited', message: expect.any(String) } });
        expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
        expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(WINDOW_MS / 1000);
        // Every route counts: creating a session is refused the same way.
        const create = await api.call('POST', '/sessions');
        expect(create.status).toBe(429);
        expect(create.body).toMatchObject({ error: { code: 'rate_limited' } });
        // Probes are not counted.
        for (let i = 0; i < 3; i++) expect((await api.call('GET', '/health')).status).toBe(200);
      } finally {
        await api.close();
      }
    });
  },
);

describe('websocket: a burst of frames on one connection', () => {
  it(`past ${MAX} frames a window: error rate_limited per dropped frame, then 1008 for a client that keeps going`, async () => {
    run = await target('websocket').start({
      config: testConfig({ rateLimitMax: MAX, rateLimitWindowMs: WINDOW_MS }),
    });
    const ws = new WsClient(`${run.url.replace(/^http/, 'ws')}/ws`);
    try {
      await ws.opened;
      for (let ts = 1; ts <= MAX + 2; ts++) ws.send({ type: 'ping', ts });
      // The budget's frames are answered; the two over it are dropped and answered with errors.
      for (let ts = 1; ts <= MAX; ts++) await ws.next('pong', (f) => f.ts === ts);
      for (let i = 0; i < 2; i++) {
        const refused = await ws.next('error');
        expect(refused).toMatchObject({ error: { code: 'rate_limited' } });
      }
      expect(ws.frames.filter((f) => f.type === 'pong')).toEqual([]);
      expect(ws.ws.readyState).toBe(ws.ws.OPEN);

      // Told twice and still sending a whole window's worth: closed with 1008 (policy violation).
      for (let ts = 100; ts < 100 + MAX * 2; ts++) ws.send({ type: 'ping', ts });
      expect((await ws.closed).code).toBe(1008);
      expect((await new HttpJson(run.url).call('GET', '/health')).status).toBe(200);
    } finally {
      ws.close();
    }
  });
});

describe.each(TARGETS)('$protocol: over MAX_CONCURRENT_STREAMS', (t) => {
  it('the next reply is refused as rate_limited while the one running goes on', async () => {
    run = await t.start({ config: testConfig({ maxConcurrentStreams: 1, simTokenDelayMs: 20 }) });
    const client = run.client();
    const [a, b] = await Promise.all([client.createSession(), client.createSession()]);
    const first = await client.reply(a, 'a long answer, please');
    await eventually(
      () => client.stats(),
      (s) => s.streams.active === 1,
    );

    const second = await (await client.reply(b, 'me too, on another session')).events.rest();
    expect(second).toHaveLength(1);
    expect(second[0]).toMatchObject({ type: 'error', error: { code: 'rate_limited' } });
    if (t.protocol === 'grpc') expect(second[0]).toMatchObject({ grpcCode: grpc.status.RESOURCE_EXHAUSTED });
    else if (t.protocol !== 'websocket') expect(second[0]).toMatchObject({ httpStatus: 429 });
    expect(await client.history(b)).toEqual([]);

    expect((await first.events.rest()).at(-1)).toMatchObject({ type: 'done', finishReason: 'stop' });
    // Once it has finished, the next one is accepted.
    const third = await (await client.reply(b, 'my turn now')).events.rest();
    expect(third.at(-1)).toMatchObject({ type: 'done', finishReason: 'stop' });
  });
});
