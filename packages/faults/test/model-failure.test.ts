/**
 * The model fails mid-stream (SIM_FAIL_AFTER_TOKENS=3): the client sees the first deltas, then a
 * final `error` with code model_error (REST, which streams nothing: a 502 model_error). The user
 * turn is rolled back, the session is not left busy, and it takes the next message.
 */
import { ChatService, MemorySessionStore } from '@gtp/core';
import { testConfig } from '@gtp/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import type { FaultError } from '../src/events.ts';
import { type Running, TARGETS } from '../src/targets.ts';

const FAIL_AFTER = 3;

describe.each(TARGETS)('$protocol: the model fails mid-stream', (t) => {
  const runs: Running[] = [];
  afterEach(async () => {
    await Promise.all(runs.splice(0).map((r) => r.close()));
  });

  it('sends deltas then model_error, rolls the turn back, and the session takes the next message', async () => {
    // Two servers of this protocol on one session store: one whose model fails after 3 tokens,
    // one whose model works (the fault is a property of the server's model, not of the session).
    const store = new MemorySessionStore();
    const failingConfig = testConfig({ simFailAfterTokens: FAIL_AFTER });
    const failing = await t.start({
      config: failingConfig,
      chat: ChatService.fromConfig(failingConfig, t.protocol, { store }),
    });
    runs.push(failing);
    const workingConfig = testConfig();
    const working = await t.start({
      config: workingConfig,
      chat: ChatService.fromConfig(workingConfig, t.protocol, { store }),
    });
    runs.push(working);

    const client = failing.client();
    const id = await client.createSession();

    const broken = await client.reply(id, 'this answer will break');
    const events = await broken.events.rest();
    const last = events.at(-1) as FaultError;
    expect(last).toMatchObject({ type: 'error', error: { code: 'model_error' } });
    if (t.streams) {
      expect(events.map((e) => e.type)).toEqual(['start', ...Array(FAIL_AFTER).fill('delta'), 'error']);
    } else {
      expect(last.httpStatus).toBe(502);
    }
    if (t.protocol === 'grpc') {
      // The call itself fails too, for clients that do not read the oneof (grpcurl).
      expect(await broken.events.next()).toMatchObject({
        grpcCode: 13 /* INTERNAL: model_error is not a retryable UNAVAILABLE */,
        error: { code: 'model_error' },
      });
    }
    // Rolled back: no user turn without its answer.
    expect(await client.history(id)).toEqual([]);

    // Not left busy: the same server takes the next message (and fails it the same way, not 409).
    const again = await (await client.reply(id, 'and again')).events.rest();
    expect(again.at(-1)).toMatchObject({ type: 'error', error: { code: 'model_error' } });
    expect(await client.history(id)).toEqual([]);

    // A working model on the same store: the session answers, its history starts afresh.
    const other = working.client();
    const done = await (await other.reply(id, 'third time lucky')).events.rest();
    expect(done.at(-1)).toMatchObject({ type: 'done', finishReason: 'stop' });
    const history = await other.history(id);
    expect(history.map((m) => m.role)).toEqual(['user', 'model']);
    expect(history[0]!.text).toBe('third time lucky');
    expect(history[1]!.text).toMatch(/^Turn 1: /);

    expect((await client.stats()).streams.active).toBe(0);
    expect(await client.health()).toBe(true);
  });
});
