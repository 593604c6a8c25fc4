import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..', '..');
const run = (...args: string[]) =>
  promisify(execFile)(
    process.execPath,
    [join(root, 'node_modules/tsx/dist/cli.mjs'), join(root, 'scripts/run.ts'), ...args],
    {
      cwd: root,
    },
  );

describe('pnpm run server | pnpm client <protocol>', () => {
  it('refuses an unknown protocol with a message listing the five', async () => {
    const failure = await run('server', 'smtp').catch((error: { code: number; stderr: string }) => error);
    expect(failure).toMatchObject({ code: 2 });
    expect((failure as { stderr: string }).stderr).toContain('unknown protocol "smtp"');
    expect((failure as { stderr: string }).stderr).toContain(
      'protocols: rest, streamable-http, sse, websocket, grpc',
    );
  });

  it('refuses a missing protocol', async () => {
    const failure = await run('client').catch((error: { stderr: string }) => error);
    expect((failure as { stderr: string }).stderr).toContain('missing protocol');
  });

  it('runs the protocol client, passing arguments through', async () => {
    const { stdout } = await run('client', 'rest', '--help');
    expect(stdout).toContain('usage: pnpm client rest [--url http://127.0.0.1:8001]');
  });
});
