import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { ChatServer } from '@gtp/core';
import { testConfig } from '@gtp/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from '../server.ts';

const repoRoot = join(import.meta.dirname, '..', '..', '..');

/** `pnpm client grpc` as a user runs it without a terminal: stdin piped, stdout captured. */
function runClient(
  target: string,
  input: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [join(repoRoot, 'node_modules', 'tsx', 'dist', 'cli.mjs'), 'packages/grpc/client.ts', '--url', target],
      { cwd: repoRoot, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

describe('pnpm client grpc (non-TTY) against a live server', () => {
  let server: ChatServer;
  let target: string;

  beforeAll(async () => {
    server = await createServer({ config: testConfig() });
    target = await server.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(() => server.close());

  it('chats two turns, and /history, /health, /ping and /stats work', async () => {
    const { code, stdout, stderr } = await runClient(
      target,
      'hello over grpc\nand again\n/history\n/health\n/ping\n/stats\n',
    );
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain(`genai-transports · grpc → ${target}`);
    expect(stdout).toContain('Turn 1: you said "hello over grpc"');
    expect(stdout).toContain('Turn 2: you said "and again". Before that you asked "hello over grpc"');
    expect(stdout).toContain('"status":"ok","protocol":"grpc"');
    expect(stdout).toMatch(/pong in [\d.]+ ms/);
    expect(stdout).toMatch(/bytes in\s+[1-9]\d*/);
    const { sessions } = await server.chat.listSessions();
    expect(sessions.at(-1)!.messageCount).toBe(4);
  });

  it('exits 1 with a clear message when no server listens there', async () => {
    const { code, stderr } = await runClient('127.0.0.1:1', 'hi\n');
    expect(code).toBe(1);
    expect(stderr).toMatch(/cannot reach 127\.0\.0\.1:1/);
  });
});
