/**
 * A ResumeStream whose instance fell more than the reply log's bound behind (issue 17): two gRPC
 * instances on one redis-server, the reply running on A (StreamMessage), the same reply read with
 * ResumeStream on B. B's Redis answers are held back while A streams a reply far longer than the
 * log keeps (4 events), so B's reader finds the stream trimmed past its place. ResumeStream must
 * say so plainly, mid-stream: a `reset` (replaying false), then the tail to the `done`. Before,
 * the reset was kept for a replay long over and the stream jumped from the first words to the
 * last few hundred.
 */
import * as grpc from '@grpc/grpc-js';
import { ChatService } from '@gtp/core';
import { redisKeys } from '@gtp/core/redis';
import { redisAvailable, testConfig } from '@gtp/core/testing';
import { describe, expect, it } from 'vitest';
import { gatedModel, redisGate, trimmedPast, until, useRedis, WORDS } from '../../core/test/reply-log-gap.ts';
import type { ChatServiceClient as ChatClient } from '../generated/genai/chat/v1/ChatService.ts';
import { createServer } from '../server.ts';
import { ChatServiceClient } from '../src/proto.ts';

interface Message {
  seq: number;
  event: string;
  reset?: { latestSeq: number; replaying: boolean };
}

/** The messages of a server-streaming call, collected as they come. */
function collect(call: grpc.ClientReadableStream<unknown>) {
  const messages: Message[] = [];
  call.on('data', (m: { seq: string; event: string; reset?: { latestSeq: string; replaying: boolean } }) => {
    messages.push({
      seq: Number(m.seq),
      event: m.event,
      ...(m.reset ? { reset: { latestSeq: Number(m.reset.latestSeq), replaying: m.reset.replaying } } : {}),
    });
  });
  const ended = new Promise<void>((resolve, reject) => {
    call.on('end', resolve);
    call.on('error', reject);
  });
  ended.catch(() => undefined);
  return { messages, ended };
}

describe.skipIf(!redisAvailable)('gRPC: a ResumeStream whose instance fell behind past the log bound', () => {
  const { redis, admin, cleanups } = useRedis();

  const clientFor = (target: string): ChatClient => {
    const client = new ChatServiceClient(target, grpc.credentials.createInsecure());
    cleanups.push(async () => client.close());
    return client;
  };

  it('gets a reset mid-stream, then the tail to the done', async () => {
    const { model, open } = gatedModel();
    const chatA = await ChatService.create(testConfig({ redisUrl: redis().url }), 'grpc', {
      model,
      replyLogSize: 4,
    });
    cleanups.push(() => chatA.close());
    const a = await createServer({ config: testConfig({ redisUrl: redis().url }), chat: chatA });
    cleanups.push(() => a.close());
    const onA = clientFor(await a.listen({ port: 0, host: '127.0.0.1' }));
    const gate = await redisGate(redis().port);
    cleanups.push(() => gate.close());
    const b = await createServer({ config: testConfig({ redisUrl: gate.url }) });
    cleanups.push(() => b.close());
    const onB = clientFor(await b.listen({ port: 0, host: '127.0.0.1' }));

    const sessionId = await new Promise<string>((resolve, reject) =>
      onA.createSession({}, (error, value) => (error ? reject(error) : resolve(value!.session!.id))),
    );
    const streamed = onA.streamMessage({ sessionId, text: 'say a great many words' });
    let messageId = '';
    streamed.on('data', (m: { event: string; start?: { messageId: string } }) => {
      if (m.event === 'start') messageId = m.start!.messageId;
    });
    const fromA = collect(streamed);
    await until(() => fromA.messages.some((m) => m.event === 'delta'), "the first word on A's StreamMessage");
    const fromB = collect(onB.resumeStream({ sessionId, messageId, after: '1' }));

    // B's reader has read the first word; then B hears nothing from Redis while A streams the
    // rest, and the log trims it to its last few blocks.
    await until(() => fromB.messages.some((m) => m.event === 'delta'), 'the first word on B');
    gate.hold();
    open();
    await trimmedPast(admin(), redisKeys()('log', sessionId), 10);
    gate.release();
    await fromB.ended;
    await fromA.ended;

    const messages = fromB.messages;
    const resetAt = messages.findIndex((m) => m.event === 'reset');
    // What B read before the gap, in order from the first word...
    expect(resetAt).toBeGreaterThanOrEqual(1);
    const before = messages.slice(0, resetAt).map((m) => m.seq);
    expect(before).toEqual(before.map((_, i) => 2 + i));
    // ...then, plainly, the reset, naming the newest event read (the done), replaying nothing...
    expect(messages[resetAt]!.reset).toEqual({ latestSeq: WORDS.length + 2, replaying: false });
    // ...and the tail from past the gap, to the done.
    const tail = messages.slice(resetAt + 1).map((m) => m.seq);
    expect(tail[0]).toBeGreaterThan(resetAt + 2);
    expect(tail).toEqual(tail.map((_, i) => tail[0]! + i));
    expect(messages.at(-1)).toMatchObject({ event: 'done', seq: WORDS.length + 2 });
    expect(fromA.messages.at(-1)).toMatchObject({ event: 'done', seq: WORDS.length + 2 });
  });
});
