/**
 * The NDJSON client resumes by itself (issue 17): the real shell, through StreamableHttpAdapter
 * and @gtp/netem's proxy, to a real server; every connection is reset mid-reply; the client GETs
 * the rest after its last seq, says so on one dim line, and the screen shows exactly the stored
 * reply, no token lost, none twice.
 */
import type { ChatService } from '@gtp/core';
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
import { StreamableHttpAdapter } from '../client.ts';
import { createServer } from '../server.ts';

afterEach(closeServed);
const serve = (chat?: ChatService) =>
  serveBehindProxy(() => createServer({ config: testConfig(PACED), chat }));

describe('pnpm client streamable-http: a connection cut mid-reply', () => {
  it('resumes with GET …/replies/:messageId?after=<seq>; the screen shows exactly the stored reply', async () => {
    const { url, proxy } = await serve();
    const run = await runShellThroughCut(new StreamableHttpAdapter(`http://127.0.0.1:${proxy.port}`), proxy);
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

      const run = await runShellThroughCut(
        new StreamableHttpAdapter(`http://127.0.0.1:${link.port}`),
        proxy,
        {
          link,
          downUntil: (id) => (ended ? replyEnded(chat, id) : logMovedOn(chat, id, 6)),
        },
      );
      expectResumedExactly(run, await storedReply(url, run.sessionId));
      // Its final line is the log's newest: read with one more GET, not made up from the history.
      if (ended) expect(run.output).not.toMatch(/its end is from the stored history/);
    },
  );

  // Issue 19 item 1: a resumed reply that sends nothing more (its model stalls after a few words;
  // the server answers the GET and stays up) ends with a clear error after the silence bound
  // (shortened here), and the shell reads the next line. Before, the GET waited undici's body
  // timeout (IDLE_TIMEOUT_MS, 5 min) and then resumed again, forever.
  it('resumed, but the reply sends nothing more: it ends with an error after the silence bound, and the prompt comes back', {
    timeout: 60_000,
  }, async () => {
    const { proxy } = await serve(chatThatStalls());

    // It returns: the reply ended with the error and the shell read /quit.
    const run = await runShellThroughCut(
      new StreamableHttpAdapter(`http://127.0.0.1:${proxy.port}`, { resumedSilenceMs: 1_500 }),
      proxy,
    );
    expect(run.cut, run.output).toBeGreaterThan(0);
    expect(run.resumedLines, run.output).toHaveLength(1);
    expect(run.output).toMatch(/error \[unavailable\]: the reply resumed but sent nothing more for 1\.5 s/);
  });
});
