/**
 * 100 clients vanish mid-stream at once: every socket is destroyed (WebSocket terminated, gRPC
 * call cancelled) right after the first sign of its reply. The server must notice every one:
 * no stream left active, every history well formed and ending with the partial reply marked
 * interrupted, and the server still healthy and answering.
 */
import { testConfig } from '@gtp/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { alternates, eventually, type Running, TARGETS } from '../src/targets.ts';

const CLIENTS = 100;

describe.each(TARGETS)(`$protocol: ${CLIENTS} clients vanish mid-stream at once`, (t) => {
  let run: Running | undefined;
  afterEach(async () => {
    await run?.close();
    run = undefined;
  });

  it(`the server ends all ${CLIENTS} streams, keeps every history whole, and stays healthy`, async () => {
    // Paced so that every reply is still streaming when its client vanishes (about 40 tokens,
    // 4 s: room for 100 first deltas on a busy machine), and ends well within the resume grace.
    run = await t.start({ config: testConfig({ simTokenDelayMs: 100 }) });
    const client = run.client();
    // The server's counts are read on a connection of its own: on gRPC the 100 calls fill the one
    // connection's 100 streams (GRPC_MAX_STREAMS_PER_CONNECTION), so a GetServerStats on it would
    // wait for a reply to end and read fewer than 100 (it read 74–95 under load).
    const observer = run.client();
    const ids = await Promise.all(Array.from({ length: CLIENTS }, () => client.createSession()));
    const replies = await Promise.all(ids.map((id, i) => client.reply(id, `client ${i} is about to vanish`)));

    // Wait for the first sign of each reply: its first delta (REST shows nothing before the end:
    // there the server's own count of streams in flight says that every reply has begun).
    if (t.streams) await Promise.all(replies.map((r) => r.events.until('delta')));
    else
      await eventually(
        () => observer.stats(),
        (s) => s.streams.active === CLIENTS,
      );
    // Every reply is under way (its first delta arrived, or REST's server counts it), none over.
    expect((await observer.stats()).streams.active).toBe(CLIENTS);

    for (const reply of replies) reply.vanish();

    // Where a connection is a stream of its own (SSE listeners, WebSockets), none is left open.
    // (Streamable HTTP counts TCP connections, among them this test's own keep-alive ones.)
    const listeners = t.protocol === 'sse' || t.protocol === 'websocket';
    const after = await eventually(
      () => observer.stats(),
      (s) => s.streams.active === 0 && (!listeners || s.connections.active === 0),
      { timeoutMs: 15_000 },
    );
    expect(after.streams.active).toBe(0);
    if (listeners) expect(after.connections.active).toBe(0);

    const histories = await Promise.all(ids.map((id) => client.history(id)));
    for (const history of histories) {
      expect(alternates(history)).toBe(true);
      expect(history).toHaveLength(2);
      expect(history[0]!.role).toBe('user');
      if (t.vanishCancels) {
        // The reply was its client's: cancelled, the partial text kept and marked interrupted.
        expect(history[1]).toMatchObject({ role: 'model', interrupted: true });
      } else {
        // SSE: the reply belongs to the session and runs to its end whoever listens. NDJSON,
        // WebSocket, gRPC: nobody came back within the grace, but the reply ended before it.
        expect(history[1]!.interrupted).toBeUndefined();
        expect(history[1]!.text).toMatch(/^Turn 1: /);
      }
    }

    // Still healthy, and a new client gets a whole reply.
    expect(await client.health()).toBe(true);
    const fresh = run.client();
    const id = await fresh.createSession();
    const events = await (await fresh.reply(id, 'anyone still there?')).events.rest();
    expect(events.at(-1)).toMatchObject({ type: 'done', finishReason: 'stop' });
    expect(await fresh.history(id)).toHaveLength(2);
  });
});
