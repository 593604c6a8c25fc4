/**
 * A protocol's real server as a child process, started the way production starts it (its
 * server.ts as the script, configured by the environment), for the SIGTERM fault.
 *
 * `node --import tsx packages/<p>/server.ts` runs the server in ONE process: a signal sent to
 * the child reaches the server itself (the tsx CLI would put a wrapper process in between).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Protocol } from '@gtp/core';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export interface ServerProcess {
  child: ChildProcess;
  /** The address it printed ("… listening on <url>"). */
  url: string;
  /** Everything it wrote, for failure messages. */
  output(): string;
  /** Resolves when it exits: its code (null when killed by a signal) and signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export async function startServerProcess(
  protocol: Protocol,
  env: Record<string, string>,
  timeoutMs = 15_000,
): Promise<ServerProcess> {
  // Only what the server needs: no inherited API keys, Redis URL or token from the developer's shell.
  const clean: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' };
  const child = spawn(process.execPath, ['--import', 'tsx', join('packages', protocol, 'server.ts')], {
    cwd: REPO_ROOT,
    env: { ...clean, PORT: '0', HOST: '127.0.0.1', GENAI_PROVIDER: 'simulated', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${protocol} server did not start within ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    const look = () => {
      const match = output.match(/listening on (\S+)/);
      if (match) {
        clearTimeout(timer);
        child.stdout!.off('data', look);
        resolve(match[1]!);
      }
    };
    child.stdout!.on('data', look);
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`${protocol} server exited (${code}) before listening:\n${output}`));
    });
  });
  return { child, url, output: () => output, exited };
}
