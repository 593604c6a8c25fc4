/**
 * The WebSocket client resumes by itself (issue 17): the real shell, through WebSocketAdapter
 * and @gtp/netem's proxy, to a real server; every connection is reset mid-reply; the client
 * reconnects with backoff and joins with `after` its last seq (the server waits LEAVE_GRACE_MS
 * before cancelling a reply nobody reads), says so on one dim line, and the screen shows exactly
 * the stored reply, no token lost, none twice.
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
import { WebSocketAdapter } from '../client.ts';
import { createServer } from '../server.ts';

afterEach(closeServed);
const serve = (chat?: ChatService) =>
  serveBehindProxy(() => createServer({ config: testConfig(PACED), chat }));

describe('pnpm client websocket: a connection cut mid-reply', () => {
  it('resumes with join {after: seq} on the reconnected socket; the screen shows exactly the stored reply', async () => {
    const { url, proxy } = await serve();
    const run = await runShellThroughCut(new WebSocketAdapter(`http://127.0.0.1:${proxy.port}`), proxy);
    expectResumedExactly(run, await storedReply(url, run.sessionId));
  });

  it('past the log bound (reset, not replaying): the missing middle comes from the history', async () => {
    const { url, proxy } = await serve(chatWithSmallLog());

    const run = await runShellThroughCut(new WebSocketAdapter(`http://127.0.0.1:${proxy.port}`), proxy);
    expectResumedExactly(run, await storedReply(url, run.sessionId));
  });
});
