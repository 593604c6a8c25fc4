/**
 * The commands a user types, `pnpm serve sse` and `pnpm client sse`, as child processes: the
 * process the user started is pnpm, so that is the one the signals go to. A signal to it (or
 * Ctrl+C, which reaches pnpm and the server both) ends the stream in flight with its final event,
 * and then every process of the chain is gone, the port is free and the exit code is 0.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../src/child.ts';
import { type Client, eventually, target } from '../src/targets.ts';

/** Generous bounds on outcomes, not timing assertions: a loaded CI machine must pass too. */
const START_WITHIN_MS = 30_000;
const EXIT_WITHIN_MS = 10_000;

interface Started {
  child: ChildProcess;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `pnpm <args>` in the repository, in its own process group (as a terminal would start it). */
function pnpm(args: string[], env: Record<string, string> = {}): Started {
  // Only what the command needs: no API key, Redis URL or token from the developer's shell.
  const clean = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' };
  const child = spawn('pnpm', args, {
    cwd: REPO_ROOT,
    env: { ...clean, HOST: '127.0.0.1', GENAI_PROVIDER: 'simulated', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  for (const stream of [child.stdout!, child.stderr!]) {
    stream.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
    });
  }
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, output: () => output, exited };
}

/** Resolves with the first match of `pattern` in the output; rejects if the process exits first. */
async function waitFor(
  started: Started,
  pattern: RegExp,
  timeoutMs = START_WITHIN_MS,
): Promise<RegExpMatchArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const match = started.output().match(pattern);
    if (match) return match;
    if (started.child.exitCode !== null || started.child.signalCode !== null || Date.now() > deadline) {
      throw new Error(`no ${pattern} in the output:\n${started.output()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** The pids below `pid` (Linux /proc): pnpm's node child and what that one started. */
function descendants(pid: number): number[] {
  let children: number[] = [];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
  return children.flatMap((child) => [child, ...descendants(child)]);
}

/** Running and not a zombie waiting for its parent to reap it. */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

let started: Started | undefined;
let client: Client | undefined;
afterEach(async () => {
  await client?.close();
  client = undefined;
  const pid = started?.child.pid;
  if (pid && started!.child.exitCode === null && started!.child.signalCode === null) {
    process.kill(-pid, 'SIGKILL');
    await started!.exited;
  }
  started = undefined;
});

describe('pnpm serve sse: a signal to the process the user started', () => {
  const ways = [
    { how: 'kill -TERM <pnpm pid>', send: (pid: number) => process.kill(pid, 'SIGTERM') },
    { how: 'kill -INT <pnpm pid>', send: (pid: number) => process.kill(pid, 'SIGINT') },
    // The terminal sends SIGINT to the whole foreground group: pnpm, which forwards it, and node.
    { how: 'Ctrl+C (SIGINT to the process group)', send: (pid: number) => process.kill(-pid, 'SIGINT') },
  ];

  it.each(ways)(
    '$how: the stream ends with done (cancelled), nothing is left, exit 0',
    { timeout: 60_000 },
    async ({ send }) => {
      started = pnpm(['serve', 'sse'], {
        PORT: '0',
        SIM_TTFT_MS: '0',
        SIM_TOKEN_DELAY_MS: '50',
        LOG_LEVEL: 'warn',
      });
      const url = (await waitFor(started, /listening on (http:\/\/127\.0\.0\.1:(\d+))/))[1]!;
      const port = Number(new URL(url).port);
      const pnpmPid = started.child.pid!;
      const chain = descendants(pnpmPid);
      // pnpm → node (the server, in-process): no shell, no tsx, no second node in between (the
      // launcher runs the built scripts/run.ts in its own process; esbuild, when it had to build,
      // has exited by the time the server listens).
      const commands = chain.map((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' '));
      expect(commands[0], commands.join('\n')).toMatch(/^node scripts\/launch\.mjs serve sse/);
      expect(
        commands.filter((c) => /\bnode\b/.test(c) || /\bsh\b/.test(c)),
        commands.join('\n'),
      ).toHaveLength(1);

      client = target('sse').connect(url);
      const id = await client.createSession();
      const reply = await client.reply(id, 'keep talking until the server stops');
      const seen = await reply.events.until('delta');

      send(pnpmPid);
      const rest = await reply.events.rest();
      const exit = await Promise.race([
        started.exited,
        new Promise<'still running'>((resolve) => setTimeout(() => resolve('still running'), EXIT_WITHIN_MS)),
      ]);

      expect(rest.at(-1), `events: ${JSON.stringify([...seen, ...rest])}\n${started.output()}`).toMatchObject(
        {
          type: 'done',
          finishReason: 'cancelled',
        },
      );
      expect(exit, started.output()).toEqual({ code: 0, signal: null });
      expect(started.output()).not.toMatch(/ELIFECYCLE|longer than .* exiting anyway/);
      const left = await eventually(
        async () => chain.filter(alive),
        (pids) => pids.length === 0,
        { timeoutMs: EXIT_WITHIN_MS },
      );
      expect(left, 'processes of the chain still running').toEqual([]);
      expect(await portIsFree(port)).toBe(true);
    },
  );
});

describe('pnpm client sse', () => {
  it('starts, talks to the server and exits 0 at the end of its input', { timeout: 60_000 }, async () => {
    const server = pnpm(['serve', 'sse'], {
      PORT: '0',
      SIM_TTFT_MS: '0',
      SIM_TOKEN_DELAY_MS: '1',
      LOG_LEVEL: 'warn',
    });
    started = server;
    const url = (await waitFor(server, /listening on (\S+)/))[1]!;

    const startedAt = performance.now();
    const chat = pnpm(['client', 'sse', '--url', url]);
    try {
      await waitFor(chat, /^session \S+/m);
      // An outcome, generously bounded; the < 1 s target is measured by the benchmark.
      expect(performance.now() - startedAt).toBeLessThan(START_WITHIN_MS);
      chat.child.stdin!.end('hello\n');
      expect(await chat.exited, chat.output()).toEqual({ code: 0, signal: null });
      expect(chat.output()).toContain('you said "hello"');
    } finally {
      if (chat.child.exitCode === null && chat.child.signalCode === null)
        process.kill(-chat.child.pid!, 'SIGKILL');
    }
  });
});
