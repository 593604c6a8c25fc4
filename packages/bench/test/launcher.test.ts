/**
 * scripts/launch.mjs, which `pnpm serve` and `pnpm client` run (and the start-up measurement
 * measures): it runs a bundle of the sources, reuses it while nothing it was built from changed,
 * and builds again when a source did.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { PACKAGES_DIR } from '../src/protocols.ts';

const ROOT = join(PACKAGES_DIR, '..');
// A cache of its own: a `pnpm serve` of another test running at the same time builds into the
// shared one, which would change current.json under this test.
const CACHE = mkdtempSync(join(tmpdir(), 'gtp-run-'));
const CURRENT = join(CACHE, 'current.json');
const run = promisify(execFile);
const launch = (...args: string[]) =>
  run(process.execPath, [join(ROOT, 'scripts', 'launch.mjs'), ...args], {
    cwd: ROOT,
    timeout: 60_000,
    env: { ...process.env, GTP_RUN_CACHE: CACHE },
  });
const current = () => JSON.parse(readFileSync(CURRENT, 'utf8')) as { dir: string; inputs: string[] };

describe('scripts/launch.mjs', () => {
  afterAll(() => rmSync(CACHE, { recursive: true, force: true }));
  it('reuses the bundle while its sources are unchanged and rebuilds when one changes', async () => {
    await launch('--build');
    const built = current();
    expect(built.inputs).toEqual(
      expect.arrayContaining([
        'scripts/run.ts',
        'packages/sse/server.ts',
        'packages/core/src/chat-service.ts',
      ]),
    );
    expect(built.inputs.filter((input) => input.includes('node_modules'))).toEqual([]);

    const help = await launch('serve', '--help');
    expect(help.stdout).toContain('usage: pnpm serve <protocol>');
    expect(current().dir).toBe(built.dir);

    // A source the bundle was built from is newer than the build: the next start builds again.
    const source = join(ROOT, 'packages', 'sse', 'server.ts');
    const { atime } = statSync(source);
    utimesSync(source, atime, new Date());
    const again = await launch('client', '--help');
    expect(again.stdout).toContain('usage: pnpm client <protocol>');
    expect(current().dir).not.toBe(built.dir);
  }, 120_000);
});
