import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChatEvent, ChatServer } from '@gtp/core';
import { testConfig } from '@gtp/core/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SseAdapter } from '../client.ts';
import { createServer } from '../server.ts';
import { history } from './helpers.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

let server: ChatServer;
let url: string;
const adapters: SseAdapter[] = [];

beforeAll(async () => {
  // retry: 50 ms so that EventSource comes back quickly after a drop.
  server = await createServer({ config: testConfig({ simTtftMs: 0, simTokenDelayMs: 15 }), retryMs: 50 });
  url = await server.listen({ port: 0, host: '127.0.0.1' });
});
afterAll(() => server.close());
afterEach(async () => {
  await Promise.all(adapters.splice(0).map((a) => a.close()));
});

function adapter(): SseAdapter {
  const a = new SseAdapter(url);
  adapters.push(a);
  return a;
}

describe('SseAdapter (undici EventSource)', () => {
  it('holds a conversation through a dropped connection without losing an event', async () => {
    const client = adapter();
    const notices: string[] = [];
    client.onNotice((n) => notices.push(n));
    const session = await client.createSession();
    await client.useSession(session.id);
    const reconnect = client.commands.find((c) => c.name === 'reconnect')!;

    const events: ChatEvent[] = [];
    for await (const event of client.send(session.id, 'survive a drop')) {
      events.push(event);
      // Drop the stream in the middle of the reply; EventSource reconnects with Last-Event-ID.
      if (event.type === 'delta' && events.filter((e) => e.type === 'delta').length === 4) {
        expect(await reconnect.run([], { sessionId: session.id })).toMatch(/^dropped 1 stream/);
      }
    }
    expect(events.at(-1)).toMatchObject({ type: 'done', finishReason: 'stop' });
    const text = events.map((e) => (e.type === 'delta' ? e.text : '')).join('');
    expect((await history(url, session.id)).at(-1)).toEqual({ role: 'model', text });
    expect(client.reconnects()).toBe(1);
    // Mid-reply, the one dim line says where it resumed (the same words on every transport).
    expect(
      notices.some((n) => n.includes('resumed after seq') || n.includes('reopened (Last-Event-ID:')),
    ).toBe(true);

    // The conversation goes on over the reopened stream.
    const second: ChatEvent[] = [];
    for await (const event of client.send(session.id, 'and after it')) second.push(event);
    expect(second.at(-1)).toMatchObject({ type: 'done', finishReason: 'stop' });
    expect(client.bytesReceived()).toBeGreaterThan(0);
  });

  it('cancels the reply when the signal is aborted, keeping the partial text', async () => {
    const client = adapter();
    const session = await client.createSession();
    const controller = new AbortController();
    const events: ChatEvent[] = [];
    for await (const event of client.send(session.id, 'stop me', { signal: controller.signal })) {
      events.push(event);
      if (event.type === 'delta' && events.filter((e) => e.type === 'delta').length === 3) controller.abort();
    }
    expect(events.at(-1)).toMatchObject({ type: 'done', finishReason: 'cancelled' });
    const text = events.map((e) => (e.type === 'delta' ? e.text : '')).join('');
    expect((await history(url, session.id)).at(-1)).toEqual({ role: 'model', text, interrupted: true });
  });

  it('turns server refusals into ChatErrors and an unknown session into a 404', async () => {
    const client = adapter();
    await expect(client.useSession('6f1c1a52-8a4b-4bd4-9e4e-4f0c2c6b0e11')).rejects.toMatchObject({
      code: 'session_not_found',
    });
    const session = await client.createSession();
    const send = async () => {
      for await (const _ of client.send(session.id, '   ')) {
        // nothing arrives
      }
    };
    await expect(send()).rejects.toMatchObject({ code: 'invalid_request' });
  });
});

describe('pnpm client sse (non-TTY)', () => {
  it('holds a conversation read from stdin, resumes after /reconnect and counts it in /stats', async () => {
    const { code, stdout, stderr } = await new Promise<{
      code: number | null;
      stdout: string;
      stderr: string;
    }>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        [join('node_modules', 'tsx', 'dist', 'cli.mjs'), join('packages', 'sse', 'client.ts'), '--url', url],
        { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] },
      );
      let out = '';
      let err = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
      });
      child.stderr.on('data', (chunk: Buffer) => {
        err += chunk.toString();
      });
      child.on('error', reject);
      child.on('close', (status) => resolve({ code: status, stdout: out, stderr: err }));
      child.stdin.end('Hello over SSE\n/reconnect\nWhat did I just say?\n/stats\n/nonsense\n/quit\n');
    });
    expect(code).toBe(0);
    // undici prints its "EventSource is experimental" warning; nothing else may go to stderr.
    expect(stderr.replace(/.*UNDICI-ES.*\n|.*--trace-warnings.*\n/g, '')).toBe('');
    expect(stdout).toContain(`genai-transports · sse → ${url}`);
    expect(stdout).toMatch(/model › Turn 1: you said "Hello over SSE"/);
    expect(stdout).toMatch(/dropped 1 stream\(s\)/);
    expect(stdout).toMatch(/model › Turn 2: .*Before that you asked "Hello over SSE"/);
    expect(stdout).toMatch(/reconnects\s+1/);
    expect(stdout).toContain('error [invalid_request]: unknown command /nonsense');
  }, 20_000);
});

describe('SseAdapter when a resume is impossible', () => {
  it('completes a waiting send() when the reply ended meanwhile: its end from the log, its middle from the history', async () => {
    // A 4-event buffer and a slow reconnect: by the time EventSource comes back, the reply has
    // finished and the client's Last-Event-ID is older than what the server keeps (a reset that
    // replays nothing). The client reads the reply's `done` from the log (Last-Event-ID: newest
    // - 1) and the text it missed from the history, instead of hanging or giving up.
    const small = await createServer({
      config: testConfig({ simTtftMs: 0, simTokenDelayMs: 2 }),
      bufferSize: 4,
      retryMs: 400,
    });
    const base = await small.listen({ port: 0, host: '127.0.0.1' });
    const client = new SseAdapter(base);
    try {
      const session = await client.createSession();
      await client.useSession(session.id);
      const reconnect = client.commands.find((c) => c.name === 'reconnect')!;
      const seen: ChatEvent[] = [];
      for await (const event of client.send(session.id, 'a reply longer than the buffer')) {
        seen.push(event);
        if (event.type === 'delta' && seen.filter((e) => e.type === 'delta').length === 1)
          await reconnect.run([], { sessionId: session.id });
      }
      expect(client.reconnects()).toBe(1);
      // The stream, its reconnect, and the one read of the reply's end from the log.
      expect((await client.stats()).connections.total).toBe(3);
      expect(seen.at(-1)).toMatchObject({ type: 'done', finishReason: 'stop' });
      const text = seen.map((e) => (e.type === 'delta' ? e.text : '')).join('');
      // Exactly the stored reply.
      expect((await history(base, session.id)).at(-1)).toMatchObject({ role: 'model', text });
    } finally {
      await client.close();
      await small.close();
    }
  });
});
