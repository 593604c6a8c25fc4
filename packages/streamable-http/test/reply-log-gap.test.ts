/**
 * A resume GET whose instance fell more than the reply log's bound behind (issue 17): two NDJSON
 * instances on one redis-server, the reply running on A (its POST answered from A), the same
 * reply read with GET …/replies/:messageId?after= on B. B's Redis answers are held back while A
 * streams a reply far longer than the log keeps (4 events), so B's reader finds the stream
 * trimmed past its place. The GET must say so plainly, mid-stream: a `reset` line (replaying
 * nothing), then the tail to the `done`. Before, the reset was kept for a replay long over and
 * the lines jumped from the first words to the last few hundred.
 */
import { ChatService, LineSplitter } from '@gtp/core';
import { redisKeys } from '@gtp/core/redis';
import { redisAvailable, testConfig } from '@gtp/core/testing';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { gatedModel, redisGate, trimmedPast, until, useRedis, WORDS } from '../../core/test/reply-log-gap.ts';
import { createServer } from '../server.ts';

interface Line {
  seq: number;
  type: string;
  messageId?: string;
  text?: string;
  replaying?: boolean;
}

/** The lines of an NDJSON answer, collected as they come; `ended` once it is over. */
function collect(body: AsyncIterable<Buffer>) {
  const got = { lines: [] as Line[], ended: false };
  const splitter = new LineSplitter();
  const done = (async () => {
    try {
      for await (const chunk of body)
        for (const line of splitter.push(chunk)) got.lines.push(JSON.parse(line));
    } finally {
      got.ended = true;
    }
  })();
  done.catch(() => undefined);
  return { got, done };
}

const consecutive = (lines: Line[], from: number) =>
  expect(lines.map((l) => l.seq)).toEqual(lines.map((_, i) => from + i));

/** Consecutive from 1, except right after a reset line. */
function expectNoSilentGap(lines: Line[]): void {
  let last = 0;
  let afterReset = false;
  for (const line of lines) {
    if (line.type === 'reset') {
      afterReset = true;
      continue;
    }
    if (!afterReset) expect(line.seq, `line after seq ${last}`).toBe(last + 1);
    last = line.seq;
    afterReset = false;
  }
}

describe.skipIf(!redisAvailable)('NDJSON: a resume GET whose instance fell behind past the log bound', () => {
  const { redis, admin, cleanups } = useRedis();

  it('gets a reset line mid-stream, then the tail to the done', async () => {
    const { model, open } = gatedModel();
    const chatA = await ChatService.create(testConfig({ redisUrl: redis().url }), 'streamable-http', {
      model,
      replyLogSize: 4,
    });
    cleanups.push(() => chatA.close());
    const a = await createServer({ config: testConfig({ redisUrl: redis().url }), chat: chatA });
    cleanups.push(() => a.close());
    const urlA = await a.listen({ port: 0, host: '127.0.0.1' });
    const gate = await redisGate(redis().port);
    cleanups.push(() => gate.close());
    const b = await createServer({ config: testConfig({ redisUrl: gate.url }) });
    cleanups.push(() => b.close());
    const urlB = await b.listen({ port: 0, host: '127.0.0.1' });

    const created = await request(`${urlA}/sessions`, { method: 'POST' });
    const { id } = (await created.body.json()) as { id: string };
    const posted = await request(`${urlA}/sessions/${id}/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'say a great many words' }),
    });
    expect(posted.statusCode).toBe(200);
    const onA = collect(posted.body);
    await until(() => onA.got.lines.length >= 2, "the start and the first word on A's POST");
    const messageId = onA.got.lines[0]!.messageId!;
    const resumed = await request(`${urlB}/sessions/${id}/replies/${messageId}?after=1`);
    expect(resumed.statusCode).toBe(200);
    const onB = collect(resumed.body);

    // B's reader has read the first word; then B hears nothing from Redis while A streams the
    // rest, and the log trims it to its last few blocks.
    await until(() => onB.got.lines.some((l) => l.type === 'delta'), 'the first word on B');
    gate.hold();
    open();
    await trimmedPast(admin(), redisKeys()('log', id), 10);
    gate.release();
    await onB.done;
    await onA.done;

    const lines = onB.got.lines;
    const resetAt = lines.findIndex((l) => l.type === 'reset');
    // What B read before the gap, in order from the first word (the XREAD under way when Redis
    // went quiet for B may bring the next word too)...
    expect(resetAt).toBeGreaterThanOrEqual(1);
    consecutive(lines.slice(0, resetAt), 2);
    // ...then, plainly, the reset, naming the newest event read (the done), replaying nothing...
    expect(lines[resetAt]).toMatchObject({ type: 'reset', seq: WORDS.length + 2, replaying: false });
    // ...and the tail from past the gap, to the done.
    const tail = lines.slice(resetAt + 1);
    expect(tail[0]!.seq).toBeGreaterThan(resetAt + 2);
    consecutive(tail, tail[0]!.seq);
    expect(tail.at(-1)).toMatchObject({ type: 'done', seq: WORDS.length + 2 });
    // A's own POST, read by A's reader while A appends 400 events at full speed, may fall
    // behind as well (on a loaded machine it does): every event, or a reset before each gap.
    expectNoSilentGap(onA.got.lines);
    expect(onA.got.lines.at(-1)).toMatchObject({ type: 'done', seq: WORDS.length + 2 });
  });
});
