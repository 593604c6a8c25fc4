/**
 * The SSE client resumes by itself (issue 17): the real shell, through SseAdapter and
 * @gtp/netem's proxy, to a real server; every connection (the event stream's too) is reset
 * mid-reply; undici's EventSource reconnects with Last-Event-ID, the shell says so on one dim
 * line, and the screen shows exactly the stored reply, no token lost, none twice.
 */
import type { ChatService } from '@gtp/core';
import { testConfig } from '@gtp/core/testing';
import { afterEach, describe, it } from 'vitest';
import {
  chatWithSmallLog,
  closeServed,
  expectResumedExactly,
  PACED,
  runShellThroughCut,
  serveBehindProxy,
  storedReply,
} from '../../core/test/resume-harness.ts';
import { SseAdapter } from '../client.ts';
import { createServer } from '../server.ts';

afterEach(closeServed);
const serve = (chat?: ChatService) =>
  serveBehindProxy(() => createServer({ config: testConfig(PACED), chat }));

describe('pnpm client sse: a connection cut mid-reply', () => {
  it('resumes with EventSource and Last-Event-ID; the screen shows exactly the stored reply', async () => {
    const { url, proxy } = await serve();
    const run = await runShellThroughCut(new SseAdapter(`http://127.0.0.1:${proxy.port}`), proxy);
    expectResumedExactly(run, await storedReply(url, run.sessionId));
  });

  // EventSource comes back after the server's `retry` (a second), so at PACED speed the reply has
  // ended by then: its end is read from the log (Last-Event-ID: newest - 1), its middle from the
  // history. At a slower pace it is still running: the rest comes live after the reset. The
  // screen must show exactly the stored reply either way.
  it.each([
    ['the reply ended while the stream was down', PACED.simTokenDelayMs],
    ['the reply still running when the stream is back', 100],
  ])(
    'past the log bound (reset, not replaying), %s: the missing middle comes from the history',
    async (_, tokenDelayMs) => {
      const { url, proxy } = await serve(chatWithSmallLog(tokenDelayMs));

      const run = await runShellThroughCut(new SseAdapter(`http://127.0.0.1:${proxy.port}`), proxy);
      expectResumedExactly(run, await storedReply(url, run.sessionId));
    },
  );
});
