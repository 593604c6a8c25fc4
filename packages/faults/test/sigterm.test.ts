/**
 * SIGTERM during a stream, on the real server process of each protocol: the stream in flight
 * ends with a final event (done, finishReason cancelled; REST: the complete 200 answer with
 * finishReason cancelled) and the process exits with code 0 within 5 s of the signal.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type ServerProcess, startServerProcess } from '../src/child.ts';
import type { FaultEvent } from '../src/events.ts';
import { type Client, eventually, TARGETS } from '../src/targets.ts';

/** The requirement: a graceful shutdown that is over in under 5 s. */
const EXIT_WITHIN_MS = 5_000;

describe.each(TARGETS)('$protocol: SIGTERM during a stream', (t) => {
  let server: ServerProcess | undefined;
  let client: Client | undefined;
  afterEach(async () => {
    await client?.close();
    if (server && server.child.exitCode === null && server.child.signalCode === null) {
      server.child.kill('SIGKILL');
      await server.exited;
    }
    server = undefined;
  });

  it('ends the stream with a final event and exits 0 in under 5 s', { timeout: 30_000 }, async () => {
    // A paced reply (~40 tokens × 50 ms) that is still streaming when the signal arrives.
    server = await startServerProcess(t.protocol, {
      SIM_TTFT_MS: '0',
      SIM_TOKEN_DELAY_MS: '50',
      LOG_LEVEL: 'warn',
    });
    client = t.connect(server.url);
    const id = await client.createSession();
    const reply = await client.reply(id, 'keep talking until the server stops');
    let seen: FaultEvent[] = [];
    if (t.streams) seen = await reply.events.until('delta');
    else
      await eventually(
        () => client!.stats(),
        (s) => s.streams.active === 1,
      );

    const signalledAt = performance.now();
    expect(server.child.kill('SIGTERM')).toBe(true);
    const rest = await reply.events.rest();
    const exit = await Promise.race([
      server.exited,
      new Promise<'still running'>((resolve) => setTimeout(() => resolve('still running'), EXIT_WITHIN_MS)),
    ]);
    const exitedAfterMs = performance.now() - signalledAt;

    const final = rest.at(-1);
    expect(final, `events: ${JSON.stringify([...seen, ...rest])}\n${server.output()}`).toMatchObject({
      type: 'done',
      finishReason: 'cancelled',
    });
    if (t.streams) {
      // The client saw part of the reply, not all of it.
      expect([...seen, ...rest].filter((e) => e.type === 'delta').length).toBeGreaterThan(0);
    }
    expect(exit, server.output()).toEqual({ code: 0, signal: null });
    expect(exitedAfterMs).toBeLessThan(EXIT_WITHIN_MS);
    expect(server.output()).not.toMatch(/longer than .* exiting anyway/);
  });
});
