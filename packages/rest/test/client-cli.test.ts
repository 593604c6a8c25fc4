import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChatServer } from '@gtp/core';
import { testConfig } from '@gtp/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from '../server.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** `pnpm client rest` as a user pipes it: stdin is not a TTY, so no prompt, colours or spinner. */
function runClient(
  url: string,
  input: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [join('node_modules', 'tsx', 'dist', 'cli.mjs'), join('packages', 'rest', 'client.ts'), '--url', url],
      { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

describe('pnpm client rest (non-TTY)', () => {
  let server: ChatServer;
  let url: string;

  beforeAll(async () => {
    server = await createServer({ config: testConfig() });
    url = await server.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(() => server.close());

  it('holds a conversation read from stdin and exits 0 at the end of input', async () => {
    const { code, stdout, stderr } = await runClient(
      url,
      'Hello over REST\nWhat did I just say?\n/history\n/docs\n/nonsense\n/quit\n',
    );
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain(`genai-transports · rest → ${url}`);
    expect(stdout).toContain('you › Hello over REST');
    expect(stdout).toMatch(/model › Turn 1: you said "Hello over REST"/);
    expect(stdout).toMatch(/model › Turn 2: .*Before that you asked "Hello over REST"/);
    // The whole reply arrives as one chunk: REST does not stream.
    expect(stdout.match(/· 1 chunk ·/g)).toHaveLength(2);
    expect(stdout).toContain(`API docs: ${url}/docs`);
    expect(stdout).toContain('error [invalid_request]: unknown command /nonsense');
    // No terminal control codes when the output is not a terminal.
    expect(stdout).not.toContain('\x1b[');

    // What the client said is what the server keeps.
    const [session] = (await server.chat.listSessions()).sessions;
    expect(session?.messageCount).toBe(4);
  });

  it('reports a server error and keeps going', async () => {
    const { code, stdout } = await runClient(url, `${'x'.repeat(20_000)}\nstill here\n`);
    expect(code).toBe(0);
    expect(stdout).toMatch(/error \[payload_too_large\]: .*MAX_MESSAGE_CHARS/);
    expect(stdout).toMatch(/model › Turn 1: you said "still here"/);
  });

  it('exits 1 with a clear message when no server is listening', async () => {
    const { code, stderr } = await runClient('http://127.0.0.1:1', 'hello\n');
    expect(code).toBe(1);
    expect(stderr).toMatch(/cannot reach http:\/\/127\.0\.0\.1:1: is the server running\?/);
  });
});
