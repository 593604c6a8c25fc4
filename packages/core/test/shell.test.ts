import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { colorLevel, describeError, parseClientArgs, Shell } from '../src/cli/index.ts';
import { ChatError, ChatService, MemorySessionStore, SimulatedModel } from '../src/index.ts';
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

/** Poll `condition` until it holds; a generous bound fails the test rather than hanging it. */
async function until(condition: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
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
    // The in-process server has docs but no demo: /help offers only what exists.
    expect(text).toContain('error [invalid_request]: unknown command /demo (try /help)');
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
      '/quit',
    ]) {
      expect(text).toContain(name);
    }
    expect(text.slice(text.lastIndexOf('/help'))).not.toContain('/demo');
    // /new made a second session, /delete removed the current one and opened a third.
    expect((await chat.listSessions()).sessions).toHaveLength(2);
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
    // Paced (about 40 tokens, 2 s) so that the reply still runs when the test cancels it.
    const { chat, input, shell, out } = setup(new SimulatedModel({ ttftMs: 0, tokenDelayMs: 50 }));
    const done = shell.run();
    input.write('a long story please\n');
    // Cancel once the first words are on screen.
    await until(() => out().includes('model › Turn'), 'the first words');
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

  it('/stats says "1 turn", not "1 turns", after one reply', async () => {
    const { input, shell, out } = setup();
    const done = shell.run();
    input.end('hello\n/stats\n');
    await done;
    expect(out()).toContain('(1 turn with a first token)');
  });

  it('counts TTFT only for turns that produced a first token', async () => {
    const { input, shell, out } = setup(
      new SimulatedModel({ ttftMs: 0, tokenDelayMs: 0, failAfterTokens: 0 }),
    );
    const done = shell.run();
    input.end('fails before its first token\n/stats\n');
    await done;
    expect(out()).toMatch(/turns {8}1 \(0 cancelled, 1 failed\)/);
    expect(out()).toContain('ttft         - (no turn had a first token yet)');
    expect(out()).not.toContain('ttft         p50 0.0 ms');
  });

  it('prints an error on a line of its own after a partial reply', async () => {
    const { input, shell, out } = setup(
      new SimulatedModel({ ttftMs: 0, tokenDelayMs: 0, failAfterTokens: 3 }),
    );
    const done = shell.run();
    input.end('hello\n');
    await done;
    expect(out()).toMatch(/model › Turn 1: you \nerror \[model_error\]/);
  });

  it('says the session is gone and offers /new when the server forgot it', async () => {
    const { chat, input, shell, out } = setup();
    const done = shell.run();
    // The shell opens its session first (a sleep here raced it on a loaded machine).
    await until(() => shell.sessionId !== undefined, 'the shell to open its session');
    await chat.deleteSession(shell.sessionId!);
    input.end('hello again\n/new\nworks now\n');
    await done;
    expect(out()).toMatch(/the session [0-9a-f-]{36} is gone .*\/new starts a new one/);
    expect(out()).toMatch(/model › Turn 1: you said "works now"/);
  });
});

describe('client flags', () => {
  it('an unknown flag is one clear line, exit 2', () => {
    const parsed = parseClientArgs('rest', ['--bogus']);
    expect(parsed).toEqual({
      exitCode: 2,
      message: "Unknown option '--bogus' (pnpm client rest --help lists the options)",
    });
  });

  it('a --url without a scheme says it needs one', () => {
    expect(parseClientArgs('rest', ['--url', '127.0.0.1:8001'], {})).toMatchObject({
      exitCode: 2,
      message: expect.stringMatching(/needs a scheme, e\.g\. http:\/\/127\.0\.0\.1:8001/),
    });
    expect(parseClientArgs('rest', ['--url', 'localhost:8001'], {})).toMatchObject({
      exitCode: 2,
      message: expect.stringContaining('needs an http:// or https:// scheme'),
    });
    expect(parseClientArgs('grpc', ['--url', '127.0.0.1:50051'], {})).toMatchObject({
      target: '127.0.0.1:50051',
    });
  });

  it('--help prints the usage (options and environment), exit 0; --trace is a flag', () => {
    const help = parseClientArgs('sse', ['--help'], {});
    expect(help).toMatchObject({ exitCode: 0 });
    expect((help as { message: string }).message).toMatch(/--trace[\s\S]*AUTH_TOKEN[\s\S]*NO_COLOR/);
    expect(parseClientArgs('sse', ['--trace'], { AUTH_TOKEN: 't' })).toEqual({
      target: 'http://127.0.0.1:8003',
      session: undefined,
      token: 't',
      trace: true,
    });
  });

  it('honours NO_COLOR and FORCE_COLOR', () => {
    expect(colorLevel({ NO_COLOR: '1' }, true)).toBe(0);
    expect(colorLevel({ FORCE_COLOR: '0' }, true)).toBe(0);
    expect(colorLevel({ FORCE_COLOR: '2' }, false)).toBe(2);
    expect(colorLevel({}, false)).toBe(0);
  });

  it('names --token in the error of a refused token', () => {
    expect(describeError(new ChatError('unauthorized', 'missing bearer token'))).toContain('--token');
  });
});
