import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { type Started, start } from './helpers.ts';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

/** `pnpm client streamable-http --url <url>` with stdin piped (non-TTY): what it prints, how it exits. */
function runClientScript(
  url: string,
  input: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['node_modules/tsx/dist/cli.mjs', 'packages/streamable-http/client.ts', '--url', url],
      { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

let running: Started | undefined;
afterEach(async () => {
  await running?.close();
  running = undefined;
});

describe('pnpm client streamable-http (non-TTY)', () => {
  it('chats with a live server, shows history and errors, exits 0 at EOF', async () => {
    running = await start();
    const { code, stdout, stderr } = await runClientScript(
      running.url,
      ['hello from the pipe', 'and a second turn', '/history', '/switch nomatch', '/demo', ''].join('\n'),
    );
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain(`genai-transports · streamable-http → ${running.url}`);
    expect(stdout).toContain('model › Turn 1: you said "hello from the pipe"');
    expect(stdout).toContain('Before that you asked "hello from the pipe"');
    expect(stdout).toMatch(/ttft .* · total .* · \d+ chunks · \d+ tokens/);
    expect(stdout).toMatch(/you {4}hello from the pipe\nmodel {2}Turn 1/);
    expect(stdout).toContain('error [session_not_found]');
    expect(stdout).toContain(`${running.url}/demo`);
  });

  it('says clearly when no server is there and exits 1', async () => {
    const { code, stderr } = await runClientScript('http://127.0.0.1:9', 'hello\n');
    expect(code).toBe(1);
    expect(stderr).toMatch(/cannot reach http:\/\/127\.0\.0\.1:9/);
  });
});
