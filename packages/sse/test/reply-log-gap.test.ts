/**
 * A listener whose instance fell more than the reply log's bound behind (issue 17): two SSE
 * instances on one redis-server, the reply running on A, the client's event stream on B (a
 * router in front sends GET …/events to B, everything else to A, as a load balancer may). B's
 * Redis answers are held back while A streams a reply far longer than the log keeps (4 events),
 * so B's reader finds the stream trimmed past its place. Before the fix B's listeners went from
 * the first word to the last few hundred with no word said; now they get a `reset` (replaying
 * nothing) then the tail, and the client's screen shows exactly the stored reply.
 */
import http from 'node:http';
import type net from 'node:net';
import { type ChatEvent, type ChatServer, ChatService } from '@gtp/core';
import { redisKeys } from '@gtp/core/redis';
import { redisAvailable, testConfig } from '@gtp/core/testing';
import { describe, expect, it } from 'vitest';
import { gatedModel, redisGate, trimmedPast, useRedis, WORDS } from '../../core/test/reply-log-gap.ts';
import { SseAdapter } from '../client.ts';
import { createServer } from '../server.ts';
import { createSession, history, SseReader } from './helpers.ts';

/** An HTTP router: GET …/events to `events`, every other request to `rest`. */
async function router(events: string, rest: string) {
  const server = http.createServer((req, res) => {
    const target = new URL(req.url!.split('?')[0]!.endsWith('/events') ? events : rest);
    const upstream = http.request(
      { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    res.on('close', () => upstream.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

describe.skipIf(!redisAvailable)('SSE: a listener whose instance fell behind past the log bound', () => {
  const { redis, admin, cleanups } = useRedis();

  it('gets a reset, then the tail; the client shows exactly the stored reply', async () => {
    const { model, open } = gatedModel();
    const chatA = await ChatService.create(testConfig({ redisUrl: redis().url }), 'sse', {
      model,
      replyLogSize: 4,
    });
    cleanups.push(() => chatA.close());
    const a: ChatServer = await createServer({ config: testConfig({ redisUrl: redis().url }), chat: chatA });
    cleanups.push(() => a.close());
    const urlA = await a.listen({ port: 0, host: '127.0.0.1' });
    const gate = await redisGate(redis().port);
    cleanups.push(() => gate.close());
    const b = await createServer({ config: testConfig({ redisUrl: gate.url }), bufferSize: 4 });
    cleanups.push(() => b.close());
    const urlB = await b.listen({ port: 0, host: '127.0.0.1' });
    const front = await router(urlB, urlA);
    cleanups.push(() => front.close());

    const id = await createSession(urlA);
    const client = new SseAdapter(front.url);
    cleanups.push(() => client.close());
    await client.useSession(id); // its event stream is on B
    const witness = await SseReader.open(`${urlB}/sessions/${id}/events`); // B's feed, seen raw
    cleanups.push(() => witness.close());
    const shown = (async () => {
      const events: ChatEvent[] = [];
      for await (const event of client.send(id, 'say a great many words')) events.push(event);
      return events;
    })();
    shown.catch(() => undefined);

    // B's reader has read the start and the first word; then B hears nothing from Redis while
    // A streams the rest, and the log trims it to its last few blocks.
    await witness.until((r) => r.events.some((e) => e.type === 'delta'));
    gate.hold();
    open();
    await trimmedPast(admin(), redisKeys()('log', id), 10);
    gate.release();

    await witness.untilEvent('done', 15_000);
    const frames = witness.events;
    const resetAt = frames.findIndex((e) => e.type === 'reset');
    // What B read before the gap (the start, the first word, and what the XREAD already under
    // way when Redis went quiet for B was answered with: the next word), in order...
    expect(resetAt).toBeGreaterThanOrEqual(2);
    expect(frames.slice(0, resetAt).map((e) => e.id)).toEqual(frames.slice(0, resetAt).map((_, i) => i + 1));
    expect(frames[resetAt]!.data).toMatchObject({ type: 'reset', replaying: false });
    expect(frames[resetAt]!.id).toBe(WORDS.length + 2); // the newest event read: the done
    // ...then, plainly, the reset, and the tail from past the gap, to the done.
    const tail = frames.slice(resetAt + 1);
    expect(tail[0]!.id).toBeGreaterThan(resetAt + 1);
    expect(tail.map((e) => e.id)).toEqual(tail.map((_, i) => tail[0]!.id + i)); // consecutive
    expect(tail.at(-1)?.type).toBe('done');

    // The client: the reset, not replaying, sends it to the history for what it could not read.
    const events = await shown;
    const stored = (await history(urlA, id)).at(-1);
    expect(stored).toEqual({ role: 'model', text: WORDS.join('') });
    const text = events.flatMap((e) => (e.type === 'delta' ? [e.text] : [])).join('');
    expect(text).toBe(stored!.text);
    expect(events.at(-1)?.type).toBe('done');
  });
});
