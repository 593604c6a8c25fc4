/**
 * The NDJSON client resumes by itself (issue 17): the real shell, through StreamableHttpAdapter
 * and @gtp/netem's proxy, to a real server; every connection is reset mid-reply; the client GETs
 * the rest after its last seq, says so on one dim line, and the screen shows exactly the stored
 * reply, no token lost, none twice.
 */
import { type ChatServer, ChatService, MemorySessionStore, SimulatedModel } from '@gtp/core';
import { testConfig } from '@gtp/core/testing';
import { type NetworkProxy, PROFILES, startProxy } from '@gtp/netem';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { expectResumedExactly, PACED, runShellThroughCut } from '../../core/test/resume-harness.ts';
import { StreamableHttpAdapter } from '../client.ts';
import { createServer } from '../server.ts';

const servers: ChatServer[] = [];
const proxies: NetworkProxy[] = [];
afterEach(async () => {
  await Promise.all(proxies.splice(0).map((p) => p.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function serve(
  options: Parameters<typeof createServer>[0] = {},
): Promise<{ url: string; proxy: NetworkProxy }> {
  const server = await createServer({ config: testConfig(PACED), ...options });
  servers.push(server);
  const url = await server.listen({ port: 0, host: '127.0.0.1' });
  const proxy = await startProxy({ target: { port: Number(new URL(url).port) }, profile: PROFILES.loopback });
  proxies.push(proxy);
  return { url, proxy };
}

async function storedReply(url: string, id: string): Promise<string> {
  const response = await request(`${url}/sessions/${id}/messages`);
  const { messages } = (await response.body.json()) as { messages: { role: string; text: string }[] };
  expect(messages.at(-1)?.role).toBe('model');
  return messages.at(-1)!.text;
}

describe('pnpm client streamable-http: a connection cut mid-reply', () => {
  it('resumes with GET …/replies/:messageId?after=<seq>; the screen shows exactly the stored reply', async () => {
    const { url, proxy } = await serve();
    const run = await runShellThroughCut(new StreamableHttpAdapter(`http://127.0.0.1:${proxy.port}`), proxy);
    expectResumedExactly(run, await storedReply(url, run.sessionId));
  });

  it('past the log bound (reset, not replaying): the missing middle comes from the history', async () => {
    const chat = new ChatService({
      store: new MemorySessionStore(),
      model: new SimulatedModel({ ttftMs: 0, tokenDelayMs: PACED.simTokenDelayMs }),
      replyLogSize: 4,
    });
    const { url, proxy } = await serve({ chat });
    const run = await runShellThroughCut(new StreamableHttpAdapter(`http://127.0.0.1:${proxy.port}`), proxy);
    expectResumedExactly(run, await storedReply(url, run.sessionId));
  });
});
