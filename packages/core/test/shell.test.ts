import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Shell } from '../src/cli/index.ts';
import { ChatService, MemorySessionStore, SimulatedModel } from '../src/index.ts';
import { InProcessAdapter } from '../src/testing/index.ts';

function setup(model = new SimulatedModel({ ttftMs: 0, tokenDelayMs: 0 })) {
  const chat = new ChatService({ store: new MemorySessionStore(), model });
  const input = new PassThrough();
  const output = new PassThrough();
  let text = '';
  output.on('data', (chunk) => {
    text += chunk.toString();
  });
  const shell = new Shell(new InProcessAdapter(chat), { input, output, interactive: false });
  return { chat, input, shell, out: () => text };
}

describe('client shell (non-TTY)', () => {
  it('chats and runs every common command, then exits at EOF', async () => {
    const { chat, input, shell, out } = setup();
    const done = shell.run();
    input.end(
      [
        'hello there',
        '/info',
        'second message',
        '/history',
        '/stats',
        '/server',
        '/health',
        '/docs',
        '/demo',
        '/sessions',
        '/new',
        '/switch nomatch',
        '/clear',
        '/delete',
        '/bogus',
        '/help',
        '',
      ].join('\n'),
    );
    await done;
    const text = out();
    expect(text).toContain('genai-transports · rest → in-process · model simulated simulated-1');
    expect(text).toContain('you › hello there');
    expect(text).toMatch(/model › Turn 1: you said "hello there"/);
    expect(text).toMatch(/model › Turn 2: you said "second message"\. Before that you asked "hello there"/);
    expect(text).toMatch(/ttft .* · total .* · \d+ chunks · \d+ tokens/);
    expect(text).toContain('messages 2');
    expect(text).toMatch(/you {4}hello there\nmodel {2}Turn 1/);
    expect(text).toMatch(/turns {8}2 \(0 cancelled, 0 failed\)/);
    expect(text).toMatch(/bytes in {5}[1-9]\d*/);
    expect(text).toContain('"protocol": "core"');
    expect(text).toContain('"status":"ok"');
    expect(text).toContain('API docs: http://127.0.0.1:1/docs');
    expect(text).toContain('the rest server has no browser demo');
    expect(text).toMatch(/\* [0-9a-f-]{36} {2}4 messages/);
    expect(text).toContain('error [session_not_found]: no session starts with "nomatch"');
    expect(text).toContain('history cleared');
    expect(text).toMatch(/deleted [0-9a-f-]{36}/);
    expect(text).toContain('error [invalid_request]: unknown command /bogus (try /help)');
    for (const name of [
      '/new',
      '/sessions',
      '/switch <id>',
      '/info',
      '/history',
      '/clear',
      '/delete',
      '/stats',
      '/server',
      '/health',
      '/docs',
      '/demo',
      '/quit',
    ]) {
      expect(text).toContain(name);
    }
    // /new made a second session, /delete removed the current one and opened a third.
    expect(await chat.listSessions()).toHaveLength(2);
  });

  it('/switch moves to another session by id prefix and /quit stops reading', async () => {
    const { chat, input, shell, out } = setup();
    const other = await chat.createSession();
    const done = shell.run();
    input.write(`/switch ${other.id.slice(0, 8)}\nhi\n/quit\nnever read\n`);
    await done;
    expect(shell.sessionId).toBe(other.id);
    expect(await chat.history(other.id)).toHaveLength(2);
    expect(out()).not.toContain('never read');
  });

  it('cancel() stops the reply in flight and the next message still works', async () => {
    const { chat, input, shell, out } = setup(new SimulatedModel({ ttftMs: 0, tokenDelayMs: 20 }));
    const done = shell.run();
    input.write('a long story please\n');
    // Cancel once the first words are on screen.
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        if (out().includes('model › Turn')) {
          clearInterval(timer);
          resolve();
        }
      }, 5);
    });
    expect(shell.cancel()).toBe(true);
    input.end('next\n/stats\n');
    await done;
    expect(out()).toContain('[cancelled]');
    expect(out()).toMatch(/turns {8}2 \(1 cancelled, 0 failed\)/);
    const history = await chat.history(shell.sessionId!);
    expect(history[1]).toMatchObject({ role: 'model', interrupted: true });
    expect(history).toHaveLength(4);
  });

  it('shows a failed reply as an error and keeps going', async () => {
    const { input, shell, out } = setup(
      new SimulatedModel({ ttftMs: 0, tokenDelayMs: 0, failAfterTokens: 2 }),
    );
    const done = shell.run();
    input.end('hello\n/history\n');
    await done;
    expect(out()).toContain('error [model_error]: simulated model failure after 2 tokens');
    expect(out()).toContain('(no messages yet)');
  });
});
