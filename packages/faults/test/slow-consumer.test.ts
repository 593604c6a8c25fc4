/**
 * Slow consumers: a client stops reading in the middle of a large reply. It must not delay a
 * normal client of the same server, and the server must not buffer for it without bound:
 * - Streamable HTTP: the reply is read from the reply log; a reader that falls more than its queue
 *   bound behind is cut off (it can resume from its last seq) and the reply runs to its end;
 * - WebSocket: the connection is closed with 1013 (Try Again Later) past its send-queue cap; the
 *   reply goes on for the session (and the leave grace), so a member can rejoin with `after`;
 * - SSE: the listener is dropped past its queue cap; the reply belongs to the session and ends;
 * - gRPC StreamMessage and REST: the reply (bounded by MAX_REPLY_CHARS) waits whole in the
 *   server's queue and the socket's buffers for the reader: one answer's worth, by design.
 * No assertion depends on the machine's speed: "stopped" means the model's count stopped moving.
 */
import { ChatService, type Protocol } from '@gtp/core';
import { testConfig } from '@gtp/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { FLOOD_CHUNK_BYTES, FloodModel } from '../src/flood-model.ts';
import { eventually, type Running, TARGETS } from '../src/targets.ts';

const MiB = 1024 * 1024;
/** The send-queue cap given to the WebSocket and SSE servers for this test. */
const CAP_BYTES = MiB;

type Behaviour = 'back-pressure' | 'closed-1013' | 'dropped' | 'one-answer-buffered';
const EXPECTED: Record<Protocol, { behaviour: Behaviour; chunks: number }> = {
  'streamable-http': { behaviour: 'dropped', chunks: 200 },
  grpc: { behaviour: 'one-answer-buffered', chunks: 128 },
  // 1000 × 64 KiB = 62.5 MiB: far more than the loopback socket buffers hold.
  websocket: { behaviour: 'closed-1013', chunks: 1000 },
  sse: { behaviour: 'dropped', chunks: 200 },
  rest: { behaviour: 'one-answer-buffered', chunks: 128 },
};
/** Generous: the whole test process (server and clients) may grow by at most this much. */
const RSS_GROWTH_BOUND = 400 * MiB;

describe.each(TARGETS)('$protocol: a slow consumer', (t) => {
  let run: Running | undefined;
  afterEach(async () => {
    await run?.close();
    run = undefined;
  });

  const { behaviour, chunks } = EXPECTED[t.protocol];

  it(`does not delay a normal client, and is not buffered without bound (${behaviour})`, async () => {
    const flood = new FloodModel(chunks);
    // The reply cap (MAX_REPLY_CHARS) would end the flood after its first chunk: lift it above
    // the flood's size, so that what is measured is the transport's own back-pressure.
    const config = testConfig({ maxReplyChars: (chunks + 1) * FLOOD_CHUNK_BYTES });
    const chat = ChatService.fromConfig(config, t.protocol, { model: flood });
    run = await t.start({ config, chat, slowConsumerCapBytes: CAP_BYTES });

    const rssBefore = process.memoryUsage().rss;
    let rssPeak = rssBefore;
    let passed = false;
    const sampler = setInterval(() => {
      rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
    }, 20);
    try {
      const slowClient = run.client();
      const slowId = await slowClient.createSession();
      const slow = await slowClient.reply(slowId, 'flood me, I will not read');
      slow.pause();
      // Wait until the model stops: held by back-pressure (its count stops moving), or ended.
      if (behaviour === 'back-pressure') await flood.settled();
      else await flood.whenEnded();

      switch (behaviour) {
        case 'back-pressure':
          // The model is held, not finished: what it produced fits in the buffers on the way.
          expect(flood.ended).toBe(false);
          expect(flood.produced * FLOOD_CHUNK_BYTES).toBeLessThan(32 * MiB);
          expect((await slowClient.stats()).streams.active).toBe(1);
          break;
        case 'closed-1013':
          // Cut off at the cap; the reply went on for the session (a member may rejoin).
          expect(flood.ended).toBe(true);
          slow.resume(); // read up to the close frame the server sent after the queued data
          expect(await slow.closeCode).toBe(1013);
          break;
        case 'dropped': {
          // The listener (NDJSON: the reader) is gone, the reply runs to its end for the session.
          const stats = await eventually(
            () => slowClient.stats(),
            (s) => s.connections.active === 0 && s.streams.active === 0,
          );
          expect(stats.connections.active).toBe(0);
          expect(flood.produced).toBe(chunks);
          break;
        }
        case 'one-answer-buffered':
          // No streaming: the model wrote the whole answer before anything was sent.
          expect(flood.produced).toBe(chunks);
          break;
      }

      // A normal client of the same server gets its whole reply meanwhile.
      const normal = run.client();
      const id = await normal.createSession();
      const events = await (await normal.reply(id, 'hello')).events.rest();
      expect(events.at(-1)).toMatchObject({ type: 'done', finishReason: 'stop' });
      expect(
        events
          .filter((e) => e.type === 'delta')
          .map((e) => (e.type === 'delta' ? e.text : ''))
          .join(''),
      ).toBe('A short answer.');

      expect(rssPeak - rssBefore).toBeLessThan(RSS_GROWTH_BOUND);

      // The slow client goes away: nothing is left running.
      slow.vanish();
      const after = await eventually(
        () => normal.stats(),
        (s) => s.streams.active === 0,
      );
      expect(after.streams.active).toBe(0);
      expect(await normal.health()).toBe(true);
      passed = true;
    } finally {
      clearInterval(sampler);
      // What happened, when it did not go as expected.
      if (!passed)
        console.error(
          `${t.protocol}: slow consumer: ${flood.produced}/${chunks} chunks produced, ended=${flood.ended}, rss +${Math.round((rssPeak - rssBefore) / MiB)} MiB`,
        );
    }
  });
});
