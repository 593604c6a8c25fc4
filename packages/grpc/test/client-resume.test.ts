/**
 * The gRPC client resumes by itself (issue 17): the real shell, through GrpcAdapter and
 * @gtp/netem's proxy, to a real server; every connection is reset mid-reply; the StreamMessage
 * call fails UNAVAILABLE, the client calls ResumeStream {session_id, message_id, after: last seq}
 * with backoff, says so on one dim line, and the screen shows exactly the stored reply.
 */
import type { ChatServer } from '@gtp/core';
import { testConfig } from '@gtp/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { expectResumedExactly, PACED, runShellThroughCut } from '../../core/test/resume-harness.ts';
import { type NetworkProxy, PROFILES, startProxy } from '../../netem/src/index.ts';
import { GrpcAdapter } from '../client.ts';
import { createServer } from '../server.ts';

const servers: ChatServer[] = [];
const proxies: NetworkProxy[] = [];
afterEach(async () => {
  await Promise.all(proxies.splice(0).map((p) => p.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe('pnpm client grpc: a connection cut mid-reply', () => {
  // The server keeps a StreamMessage reply whose call broke for its resume grace
  // (core's src/resume-grace.ts), so ResumeStream reads the rest and the stored reply is whole.
  it('resumes with ResumeStream after the last seq; the screen shows exactly the stored reply', async () => {
    const server = await createServer({ config: testConfig(PACED) });
    servers.push(server);
    const target = await server.listen({ port: 0, host: '127.0.0.1' });
    const port = Number(target.split(':').at(-1));
    const proxy = await startProxy({ target: { port }, profile: PROFILES.loopback });
    proxies.push(proxy);
    const run = await runShellThroughCut(new GrpcAdapter(`127.0.0.1:${proxy.port}`), proxy);
    const direct = new GrpcAdapter(`127.0.0.1:${port}`);
    try {
      const last = (await direct.history(run.sessionId)).at(-1);
      expect(last?.role).toBe('model');
      expectResumedExactly(run, last!.text);
    } finally {
      await direct.close();
    }
  });
});
