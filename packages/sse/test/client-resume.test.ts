/**
 * The SSE client resumes by itself (issue 17): the real shell, through SseAdapter and
 * @gtp/netem's proxy, to a real server; every connection (the event stream's too) is reset
 * mid-reply; undici's EventSource reconnects with Last-Event-ID, the shell says so on one dim
 * line, and the screen shows exactly the stored reply, no token lost, none twice.
 */
import { type ChatServer, ChatService, MemorySessionStore, SimulatedModel } from '@gtp/core';
import { testConfig } from '@gtp/core/testing';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { expectResumedExactly, PACED, runShellThroughCut } from '../../core/test/resume-harness.ts';
import { type NetworkProxy, PROFILES, startProxy } from '../../netem/src/index.ts';
import { SseAdapter } from '../client.ts';
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
      const chat = new ChatService({
        store: new MemorySessionStore(),
        model: new SimulatedModel({ ttftMs: 0, tokenDelayMs }),
        replyLogSize: 4,
      });
      const { url, proxy } = await serve({ chat });
      const run = await runShellThroughCut(new SseAdapter(`http://127.0.0.1:${proxy.port}`), proxy);
      expectResumedExactly(run, await storedReply(url, run.sessionId));
    },
  );
});
