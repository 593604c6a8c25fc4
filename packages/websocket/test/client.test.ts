import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type ChatEvent, type ChatServer, ChatService } from '@gtp/core';
import { testConfig } from '@gtp/core/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocketAdapter } from '../client.ts';
import { createServer } from '../server.ts';
import { TestClient } from './ws-test-client.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const servers: ChatServer[] = [];
const adapters: WebSocketAdapter[] = [];
const children: ChildProcessWithoutNullStreams[] = [];

async function start(config = testConfig(), chat?: ChatService, port = 0) {
  const server = await createServer({ config, ...(chat ? { chat } : {}) });
  servers.push(server);
  return { server, url: await server.listen({ port }) };
}

function adapter(url: string) {
  const a = new WebSocketAdapter(url);
  adapters.push(a);
  const notices: string[] = [];
  a.onNotice((n) => notices.push(n));
  return { a, notices };
}

async function collect(
  events: AsyncIterable<ChatEvent>,
  onEvent?: (e: ChatEvent) => void,
): Promise<ChatEvent[]> {
  const all: ChatEvent[] = [];
  for await (const event of events) {
    all.push(event);
    onEvent?.(event);
  }
  return all;
}

const text = (events: ChatEvent[]) => events.map((e) => (e.type === 'delta' ? e.text : '')).join('');

afterEach(async () => {
  for (const child of children.splice(0)) child.kill();
  await Promise.all(adapters.splice(0).map((a) => a.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe('WebSocketAdapter', () => {
  it('shares a session: the reply streams to the asker, the others get notices', async () => {
    const { url } = await start();
    const { a, notices: aNotices } = adapter(url);
    const { a: b, notices: bNotices } = adapter(url);
    const session = await a.createSession();
    await a.useSession(session.id);
    await b.useSession(session.id);
    await vi.waitFor(() => expect(aNotices.some((n) => /joined \(2 in this session\)/.test(n))).toBe(true));

    a.typing(true);
    await vi.waitFor(() => expect(bNotices.some((n) => /is typing…/.test(n))).toBe(true));

    const events = await collect(a.send(session.id, 'hello from terminal A'));
    expect(events[0]).toMatchObject({ type: 'start', sessionId: session.id });
    expect(events.at(-1)).toMatchObject({ type: 'done', finishReason: 'stop' });
    const reply = text(events);
    expect(reply).toContain('hello from terminal A');
    await vi.waitFor(() => expect(bNotices).toContain(`model › ${reply}`));
    expect(bNotices.some((n) => n.endsWith('› hello from terminal A'))).toBe(true);
    // A saw neither its own text nor its own reply as notices.
    expect(aNotices.some((n) => n.includes('hello from terminal A'))).toBe(false);
    expect(a.bytesReceived()).toBeGreaterThan(Buffer.byteLength(reply));
  });

  it('turns an aborted signal into a cancel frame and ends with done (cancelled)', async () => {
    const { url, server } = await start(testConfig({ simTokenDelayMs: 20 }));
    const { a } = adapter(url);
    const session = await a.createSession();
    await a.useSession(session.id);
    const controller = new AbortController();
    const events = await collect(a.send(session.id, 'long please', { signal: controller.signal }), (e) => {
      if (e.type === 'delta') controller.abort();
    });
    expect(events.at(-1)).toMatchObject({ type: 'done', finishReason: 'cancelled' });
    expect((await server.chat.history(session.id)).at(-1)).toMatchObject({ interrupted: true });
  });

  it('reports a busy session as an error event, not a hang', async () => {
    const { url } = await start(testConfig({ simTokenDelayMs: 20 }));
    const { a } = adapter(url);
    const { a: b } = adapter(url);
    const session = await a.createSession();
    await b.useSession(session.id);
    const first = a.send(session.id, 'first')[Symbol.asyncIterator]();
    expect((await first.next()).value).toMatchObject({ type: 'start' });
    const second = await collect(b.send(session.id, 'second'));
    expect(second).toEqual([{ type: 'error', error: expect.objectContaining({ code: 'session_busy' }) }]);
    await first.return?.();
  });

  it('/ping measures a round trip; /reconnect rejoins the same session', async () => {
    const { url } = await start();
    const { a } = adapter(url);
    const session = await a.createSession();
    await a.useSession(session.id);
    const ping = a.commands.find((c) => c.name === 'ping')!;
    const reconnect = a.commands.find((c) => c.name === 'reconnect')!;
    expect(await ping.run([], { sessionId: session.id })).toMatch(/^pong in \d+\.\d\d ms/);
    expect(await reconnect.run([], { sessionId: session.id })).toMatch(`rejoined session ${session.id}`);
    expect(a.reconnects()).toBe(1);
    const events = await collect(a.send(session.id, 'after reconnect'));
    expect(events.at(-1)).toMatchObject({ type: 'done', finishReason: 'stop' });
  });

  it('reconnects with backoff after the server restarts and rejoins the session', async () => {
    const config = testConfig();
    const chat = ChatService.fromConfig(config, 'websocket'); // sessions outlive the restart
    const first = await start(config, chat);
    const port = Number(new URL(first.url).port);
    const { a, notices } = adapter(first.url);
    const session = await a.createSession();
    await a.useSession(session.id);

    await first.server.close();
    await vi.waitFor(() => expect(notices.some((n) => /connection closed \(1001/.test(n))).toBe(true));
    await start(config, chat, port);
    await vi.waitFor(() => expect(notices).toContain(`reconnected; rejoined session ${session.id}`), {
      timeout: 5_000,
    });
    expect(a.reconnects()).toBeGreaterThanOrEqual(1);
    const events = await collect(a.send(session.id, 'still here?'));
    expect(events.at(-1)).toMatchObject({ type: 'done', finishReason: 'stop' });
  });
});

describe('pnpm client websocket (non-TTY)', () => {
  it('chats, pings and shows what another member says', async () => {
    const { url } = await start();
    const other = await TestClient.connect(url);
    const { session } = await other.join();

    const child = spawn(
      process.execPath,
      [
        'node_modules/tsx/dist/cli.mjs',
        'packages/websocket/client.ts',
        '--url',
        url,
        '--session',
        session.id,
      ],
      { cwd: ROOT, stdio: 'pipe' },
    );
    children.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));

    // The CLI joined: the other member hears it, then speaks.
    await other.next('presence', (f) => f.connections === 2);
    other.send({ type: 'send', text: 'hi from the browser tab' });
    const { messageId } = await other.next('start');
    await other.reply(messageId);
    await vi.waitFor(() => expect(stdout).toMatch(/model › Turn 1: you said "hi from the browser tab"/), {
      timeout: 10_000,
    });
    expect(stdout).toMatch(/› hi from the browser tab/);

    child.stdin.end('hello from the terminal\n/ping\n/quit\n');
    expect(await exited).toBe(0);
    expect(stderr).toBe('');
    expect(stdout).toContain(`session ${session.id}`);
    expect(stdout).toContain('you › hello from the terminal');
    expect(stdout).toMatch(/model › Turn 2: you said "hello from the terminal"/);
    expect(stdout).toMatch(/pong in \d+\.\d\d ms/);
    // The other member saw the terminal's message.
    expect((await other.next('message')).text).toBe('hello from the terminal');
    other.close();
  }, 20_000);
});
