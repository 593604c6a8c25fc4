/**
 * AUTH_TOKEN on all five: a caller without the token (or with a wrong one) gets nothing but a
 * 401 unauthorized (gRPC: UNAUTHENTICATED; WebSocket: the upgrade is answered 401), on every
 * route tried; the health probe stays open; with the token everything works.
 */
import { randomUUID } from 'node:crypto';
import { testConfig } from '@gtp/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { GrpcClient, grpc } from '../src/grpc.ts';
import { HttpJson } from '../src/http.ts';
import { type Running, TARGETS } from '../src/targets.ts';
import { WsClient } from '../src/ws.ts';

const TOKEN = 'open-sesame';

/** Routes of the four HTTP servers; `:id` is a real session. */
const SHARED_ROUTES: [method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown][] = [
  ['GET', '/stats'],
  ['GET', '/sessions'],
  ['POST', '/sessions'],
  ['GET', '/sessions/:id'],
  ['GET', '/sessions/:id/messages'],
  ['DELETE', '/sessions/:id/messages'],
  ['DELETE', '/sessions/:id'],
  ['GET', '/openapi.json'],
  ['GET', '/docs'],
  ['GET', `/sessions/${randomUUID()}`],
  ['GET', '/no-such-route'],
];
// GET /demo is not here: the page, like its script and the design's files, carries no data and is
// open (core ui.ts OPEN_UI_PATHS), so a reload works after the page took the token out of the URL.
const CHAT_ROUTES: Record<string, typeof SHARED_ROUTES> = {
  rest: [['POST', '/sessions/:id/messages', { text: 'hi' }]],
  'streamable-http': [['POST', '/sessions/:id/messages', { text: 'hi' }]],
  sse: [
    ['POST', '/sessions/:id/messages', { text: 'hi' }],
    ['GET', '/sessions/:id/events'],
    ['POST', '/sessions/:id/cancel', {}],
  ],
  websocket: [['GET', '/ws']],
};

describe.each(TARGETS)('$protocol: AUTH_TOKEN', (t) => {
  let run: Running | undefined;
  afterEach(async () => {
    await run?.close();
    run = undefined;
  });

  it('a caller without the token gets nothing but 401 / UNAUTHENTICATED; health stays open; the token works', async () => {
    run = await t.start({ config: testConfig({ authToken: TOKEN }) });
    const authorized = run.client({ token: TOKEN });
    const anonymous = run.client();
    const id = await authorized.createSession();

    // The generic calls, without the token.
    for (const call of [
      () => anonymous.createSession(),
      () => anonymous.history(id),
      () => anonymous.stats(),
    ]) {
      const error = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toMatchObject(
        t.protocol === 'grpc'
          ? { code: 'unauthorized', grpcCode: grpc.status.UNAUTHENTICATED }
          : { code: 'unauthorized', httpStatus: 401 },
      );
    }
    const refused = await (await anonymous.reply(id, 'let me in')).events.rest();
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({ type: 'error', error: { code: 'unauthorized' } });
    if (t.protocol === 'grpc') expect(refused[0]).toMatchObject({ grpcCode: grpc.status.UNAUTHENTICATED });
    else expect(refused[0]).toMatchObject({ httpStatus: 401 });

    expect(await anonymous.health()).toBe(true);

    if (t.protocol === 'grpc') {
      // A wrong token is no better than none, on every call shape.
      const wrong = new GrpcClient(run.url, { token: 'wrong' });
      try {
        await expect(wrong.createSession()).rejects.toMatchObject({ grpcCode: grpc.status.UNAUTHENTICATED });
        const events = await wrong.streamMessage(id, 'hi').queue.rest();
        expect(events).toEqual([expect.objectContaining({ grpcCode: grpc.status.UNAUTHENTICATED })]);
        const { next, call } = wrong.chat();
        call.write({ ping: { ts: '1' } });
        await expect(next(() => true)).rejects.toMatchObject({ grpcCode: grpc.status.UNAUTHENTICATED });
        call.cancel();
      } finally {
        wrong.close();
      }
    } else {
      // Every route but /health, without a token and with a wrong one: 401 and the error only.
      for (const token of [undefined, 'wrong']) {
        const api = new HttpJson(run.url, token);
        try {
          for (const [method, path, body] of [...SHARED_ROUTES, ...(CHAT_ROUTES[t.protocol] ?? [])]) {
            const answer = await api.call(method, path.replace(':id', id), body);
            expect(answer.status, `${method} ${path}`).toBe(401);
            expect(answer.body, `${method} ${path}`).toEqual({
              error: { code: 'unauthorized', message: expect.any(String) },
            });
            expect(answer.headers['www-authenticate'], `${method} ${path}`).toMatch(/^Bearer/);
          }
        } finally {
          await api.close();
        }
      }
    }

    if (t.protocol === 'websocket') {
      // The upgrade itself is refused with a 401 answer: no socket, no frames.
      for (const token of [undefined, 'wrong']) {
        const ws = new WsClient(`${run.url.replace(/^http/, 'ws')}/ws`, token ? { token } : {});
        await expect(ws.opened).rejects.toMatchObject({
          status: 401,
          body: { error: { code: 'unauthorized' } },
        });
        ws.close();
      }
    }

    // With the token: everything works, and nothing the anonymous caller tried left a trace.
    expect(await authorized.history(id)).toEqual([]);
    const events = await (await authorized.reply(id, 'it is me')).events.rest();
    expect(events.at(-1)).toMatchObject({ type: 'done', finishReason: 'stop' });
    expect((await authorized.history(id)).map((m) => m.role)).toEqual(['user', 'model']);
  });
});
