/**
 * The WebSocket client resumes by itself (issue 17): the real shell, through WebSocketAdapter
 * and @gtp/netem's proxy, to a real server; every connection is reset mid-reply; the client
 * reconnects with backoff and joins with `after` its last seq (the server waits LEAVE_GRACE_MS
 * before cancelling a reply nobody reads), says so on one dim line, and the screen shows exactly
 * the stored reply, no token lost, none twice.
 */
import type { ChatServer, ChatService } from '@gtp/core';
import { testConfig } from '@gtp/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import {
  chatThatStalls,
  chatWithSmallLog,
  closeServed,
  expectResumedExactly,
  linkInFront,
  logMovedOn,
  PACED,
  replyEnded,
  runShellThroughCut,
  serveBehindProxy,
  storedReply,
} from '../../core/test/resume-harness.ts';
import { PROFILES, startProxy } from '../../netem/src/index.ts';
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

  // The link stays down after the cut until the reply has ended (its end is then past the
  // client's resume point and the log's bound), or until the log has moved on past its bound
  // while the reply still runs; either way the resume gets a `reset` that replays nothing, and
  // the screen must show exactly the stored reply, then the prompt (/quit runs).
  it.each([
    ['the reply ended while the connection was down', true],
    ['the reply still running when the connection is back', false],
  ])(
    'past the log bound (reset, not replaying), %s: the missing middle comes from the history',
    { timeout: 45_000 },
    async (_, ended) => {
      const chat = chatWithSmallLog(PACED.simTokenDelayMs * 4);
      const { url, proxy } = await serve(chat);
      const link = await linkInFront(proxy);

      const run = await runShellThroughCut(new WebSocketAdapter(`http://127.0.0.1:${link.port}`), proxy, {
        link,
        downUntil: (id) => (ended ? replyEnded(chat, id) : logMovedOn(chat, id, 6)),
      });
      expectResumedExactly(run, await storedReply(url, run.sessionId));
      // Nothing comes on the socket for a reply that is over: the history says so, and gives the end.
      if (ended) expect(run.output).toMatch(/its end is from the stored history/);
    },
  );

  // Issue 19 item 1: a reply whose stream cannot come back ends with a clear error and the prompt
  // back. The server restarts while the link is down (in-memory sessions: the session is gone);
  // the socket comes back, the rejoin is refused with session_not_found, and the reply ends then
  // with that reason (before: it waited RESUME_GIVE_UP_MS and blamed the connection).
  it('the server restarted while the connection was down: the reply ends with the session gone, and the prompt comes back', {
    timeout: 60_000,
  }, async () => {
    const servers: ChatServer[] = [await createServer({ config: testConfig(PACED) })];
    const port = Number(new URL(await servers[0]!.listen({ port: 0, host: '127.0.0.1' })).port);
    const proxy = await startProxy({ target: { port }, profile: PROFILES.loopback });
    const link = await linkInFront(proxy);
    try {
      // It returns: the reply ended and the shell read /quit (the prompt came back).
      const run = await runShellThroughCut(new WebSocketAdapter(`http://127.0.0.1:${link.port}`), proxy, {
        link,
        downUntil: async () => {
          await servers[0]!.close();
          servers.push(await createServer({ config: testConfig(PACED) }));
          await servers[1]!.listen({ port, host: '127.0.0.1' });
        },
      });
      expect(run.cut, run.output).toBeGreaterThan(0);
      expect(run.output).toMatch(
        /error \[session_not_found\]: the connection was lost mid-reply and the session is gone/,
      );
      expect(run.output).not.toMatch(/did not come back within/);
    } finally {
      await proxy.close();
      await Promise.all(servers.map((server) => server.close().catch(() => undefined)));
    }
  });

  // Issue 19 item 1, the other way a rejoined reply cannot come back: the server is there, the
  // rejoin answers, but the reply sends nothing more (a model that stalls after a few words).
  // Before, the client waited forever once rejoined; now it gives up after its silence bound
  // (shortened here) with a clear error, and the shell reads the next line.
  it('rejoined, but the reply sends nothing more: it ends with an error after the silence bound, and the prompt comes back', {
    timeout: 60_000,
  }, async () => {
    const { proxy } = await serve(chatThatStalls());

    // It returns: the reply ended with the error and the shell read /quit.
    const run = await runShellThroughCut(
      new WebSocketAdapter(`http://127.0.0.1:${proxy.port}`, { resumedSilenceMs: 1_500 }),
      proxy,
    );
    expect(run.cut, run.output).toBeGreaterThan(0);
    expect(run.resumedLines, run.output).toHaveLength(1);
    expect(run.output).toMatch(/error \[unavailable\]: the reply resumed but sent nothing more for 1\.5 s/);
  });
});
