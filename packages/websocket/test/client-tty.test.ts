/**
 * The WebSocket client in a real terminal (tmux), against a real server: keys typed during a
 * reply are held under it (not mixed into the model's text) and come back at the next prompt;
 * the reconnect status while the server is down is one line updated in place; NO_COLOR is
 * honoured. tmux is the terminal: `send-keys` types, `capture-pane -p` reads the screen.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChatServer } from '@gtp/core';
import { testConfig } from '@gtp/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { createServer } from '../server.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
/** An SGR colour/style escape sequence (ESC [ … m). */
const COLOUR_CODE = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`);
const tmuxAvailable = spawnSync('tmux', ['-V']).status === 0;

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function serve(port = 0, tokenDelayMs = 120): Promise<{ server: ChatServer; port: number }> {
  const server = await createServer({ config: testConfig({ simTokenDelayMs: tokenDelayMs }) });
  const url = await server.listen({ port, host: '127.0.0.1' });
  const close = server.close.bind(server);
  let closed = false;
  const closeOnce = async () => {
    if (!closed) {
      closed = true;
      await close();
    }
  };
  cleanups.push(closeOnce);
  return { server: Object.assign(server, { close: closeOnce }), port: Number(new URL(url).port) };
}

/** The client in a detached tmux session of its own; returns how to type and read the screen. */
function terminal(port: number, env: Record<string, string> = {}) {
  const name = `gtp-${randomUUID().slice(0, 8)}`;
  const vars = Object.entries({ LOG_LEVEL: 'silent', ...env }).map(([k, v]) => `${k}=${v}`);
  // `env -u` so the test runner's own FORCE_COLOR/NO_COLOR do not decide for the client.
  const command = [
    'env -u FORCE_COLOR -u NO_COLOR',
    ...vars,
    `${process.execPath} --import tsx ${join(root, 'packages/websocket/client.ts')} --url http://127.0.0.1:${port}`,
    // keep the pane after the client exits, to read its last lines
    '; sleep 30',
  ].join(' ');
  execFileSync('tmux', ['new-session', '-d', '-s', name, '-x', '160', '-y', '40', '-c', root, command]);
  cleanups.push(() => spawnSync('tmux', ['kill-session', '-t', name]));
  const capture = (escapes = false) =>
    execFileSync('tmux', ['capture-pane', '-p', ...(escapes ? ['-e'] : []), '-t', name], {
      encoding: 'utf8',
    });
  return {
    capture,
    keys: (...keys: string[]) => execFileSync('tmux', ['send-keys', '-t', name, ...keys]),
    /** Type text literally (no key names). */
    type: (text: string) => execFileSync('tmux', ['send-keys', '-t', name, '-l', text]),
    async until(check: (screen: string) => boolean, what: string, timeoutMs = 30_000): Promise<string> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const screen = capture();
        if (check(screen)) return screen;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; the screen:\n${screen}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
  };
}

describe.skipIf(!tmuxAvailable)('websocket client in a terminal', () => {
  it('holds keys typed during a reply under it and gives them back at the prompt', async () => {
    const { port } = await serve();
    const tty = terminal(port);
    await tty.until((s) => /you ›\s*$/m.test(s), 'the prompt');
    tty.type('tell me something');
    tty.keys('Enter');
    await tty.until((s) => /model › Turn 1/.test(s), 'the reply to start');
    tty.type('typed meanwhile');
    const screen = await tty.until((s) => /ttft .* tokens/.test(s), 'the reply to end');
    // Not echoed into the model's text while it streamed…
    const reply = screen.slice(screen.indexOf('model › Turn 1'), screen.indexOf('  ttft'));
    expect(reply).not.toContain('typed meanwhile');
    // …and at the next prompt, still there, ready to send.
    const after = await tty.until(
      (s) => /you › typed meanwhile\s*$/.test(s.trimEnd()),
      'the held keys at the prompt',
    );
    expect(after.match(/typed meanwhile/g)).toHaveLength(1);
    tty.keys('Enter');
    await tty.until((s) => /model › Turn 2: you said "typed meanwhile"/.test(s), 'the held line to be sent');
  }, 60_000);

  it('says the server is down once and updates the line in place; colours by default, none with NO_COLOR', async () => {
    const first = await serve(0, 0);
    const tty = terminal(first.port);
    await tty.until((s) => /you ›\s*$/m.test(s), 'the prompt');
    expect(tty.capture(true)).toMatch(COLOUR_CODE); // coloured (tmux is a colour terminal)
    await first.server.close();
    const screen = await tty.until((s) => /\(attempt [3-9]\)/.test(s), 'three reconnect attempts');
    expect(screen.match(/reconnecting in/g)).toHaveLength(1);
    // Back: it rejoins, and the prompt works.
    await serve(first.port, 0);
    await tty.until(
      (s) => !/reconnecting in/.test(s.split('\n').filter(Boolean).at(-1) ?? ''),
      'the reconnect',
    );

    const plain = terminal(first.port, { NO_COLOR: '1' });
    await plain.until((s) => /you ›\s*$/m.test(s), 'the prompt');
    expect(plain.capture(true)).not.toMatch(COLOUR_CODE);
  }, 60_000);
});
