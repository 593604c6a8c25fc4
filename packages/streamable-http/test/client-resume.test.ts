/**
 * The NDJSON client resumes by itself (issue 17): the real shell, through StreamableHttpAdapter
 * and @gtp/netem's proxy, to a real server; every connection is reset mid-reply; the client GETs
 * the rest after its last seq, says so on one dim line, and the screen shows exactly the stored
 * reply, no token lost, none twice.
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

  it('past the log bound (reset, not replaying): the missing middle comes from the history', async () => {
    const { url, proxy } = await serve(chatWithSmallLog());

    const run = await runShellThroughCut(new StreamableHttpAdapter(`http://127.0.0.1:${proxy.port}`), proxy);
    expectResumedExactly(run, await storedReply(url, run.sessionId));
  });
});
