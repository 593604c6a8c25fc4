import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ENV_DESCRIPTIONS } from '../src/config.ts';
import { PROTOCOLS } from '../src/constants.ts';

const root = join(import.meta.dirname, '..', '..', '..');
// Only what the scripts need: no API key, token or port from the developer's shell.
const cleanEnv = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', GENAI_PROVIDER: 'simulated' };

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

/** What `pnpm serve …` / `pnpm client …` run (package.json): `node --import tsx scripts/run.ts …`. */
async function run(args: string[], env: Record<string, string> = {}): Promise<Outcome> {
  return settle(
    promisify(execFile)(process.execPath, ['--import', 'tsx', join(root, 'scripts/run.ts'), ...args], {
      cwd: root,
      env: { ...cleanEnv, ...env },
    }),
  );
}

async function settle(running: Promise<{ stdout: string; stderr: string }>): Promise<Outcome> {
  try {
    return { code: 0, ...(await running) };
  } catch (error) {
    const failure = error as { code: number; stdout: string; stderr: string };
    return { code: failure.code, stdout: failure.stdout, stderr: failure.stderr };
  }
}

const lines = (text: string) => text.trim().split('\n');

describe('pnpm serve | pnpm client <protocol>', { timeout: 30_000 }, () => {
  it('refuses an unknown protocol with one line listing the five, exit 2', async () => {
    const { code, stderr } = await run(['serve', 'smtp']);
    expect(code).toBe(2);
    expect(lines(stderr)).toEqual([`unknown protocol "smtp": protocols: ${PROTOCOLS.join(', ')}`]);
  });

  it('refuses a missing protocol, exit 2', async () => {
    const { code, stderr } = await run(['client']);
    expect(code).toBe(2);
    expect(lines(stderr)).toHaveLength(1);
    expect(stderr).toContain('missing protocol: one of rest, streamable-http, sse, websocket, grpc');
  });

  it('refuses an unknown command: the old `server` is now `serve`', async () => {
    const { code, stderr } = await run(['server', 'sse']);
    expect(code).toBe(2);
    expect(stderr).toContain('unknown command "server": serve or client');
  });

  it('runs the protocol client, passing arguments through', async () => {
    const { code, stdout } = await run(['client', 'rest', '--help']);
    expect(code).toBe(0);
    expect(stdout).toContain('usage: pnpm client rest');
    expect(stdout).toContain('http://127.0.0.1:8001');
  });

  it('serve --help: protocols and every environment variable with its description, exit 0', async () => {
    const { code, stdout } = await run(['serve', '--help']);
    expect(code).toBe(0);
    expect(stdout).toContain('usage: pnpm serve <protocol>');
    for (const protocol of PROTOCOLS)
      expect(stdout).toMatch(new RegExp(`^  ${protocol} +default port \\d+$`, 'm'));
    for (const [name, description] of Object.entries(ENV_DESCRIPTIONS)) {
      expect(stdout).toMatch(
        new RegExp(`^  ${name} +${description.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'),
      );
    }
    expect(stdout).not.toContain('listening');
  });

  it('serve <protocol> --help: that protocol and the environment, without starting it', async () => {
    const { code, stdout } = await run(['serve', 'grpc', '--help'], { PORT: '1' });
    expect(code).toBe(0);
    expect(stdout).toContain('usage: pnpm serve grpc');
    expect(stdout).toContain('127.0.0.1:50051');
    expect(stdout).toMatch(
      new RegExp(`^  REDIS_URL +${ENV_DESCRIPTIONS.REDIS_URL.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'),
    );
    expect(stdout).not.toContain('listening');
  });

  it('client --help: protocols, options and the environment, exit 0', async () => {
    const { code, stdout } = await run(['client', '--help']);
    expect(code).toBe(0);
    expect(stdout).toContain('usage: pnpm client <protocol>');
    for (const protocol of PROTOCOLS) expect(stdout).toContain(`  ${protocol} `);
    expect(stdout).toMatch(/-u, --url/);
    expect(stdout).toMatch(/^ {2}SERVER_URL +\S/m);
    expect(stdout).toMatch(/^ {2}AUTH_TOKEN +\S/m);
  });

  it('`pnpm serve --help` reaches the script through pnpm', async () => {
    const { code, stdout } = await settle(
      promisify(execFile)('pnpm', ['serve', '--help'], { cwd: root, env: cleanEnv }),
    );
    expect(code).toBe(0);
    expect(stdout).toContain('usage: pnpm serve <protocol>');
  });

  it.each(PROTOCOLS)(
    '%s: a port in use is one clear line and exit 1',
    { timeout: 30_000 },
    async (protocol) => {
      const squatter = createServer().listen(0, '127.0.0.1');
      await once(squatter, 'listening');
      const { port } = squatter.address() as { port: number };
      try {
        const { code, stdout, stderr } = await run(['serve', protocol], { PORT: String(port) });
        expect(code, stdout + stderr).toBe(1);
        expect(lines(stderr)).toEqual([
          `port ${port} is in use: is another server running? set PORT=… to use another port`,
        ]);
      } finally {
        squatter.close();
      }
    },
  );
});
