/**
 * The client side of issue 17's cut-connection tests, shared by the four streaming transports:
 * the real shell, through a protocol's adapter, talks to a real server through @gtp/netem's
 * proxy; once the reply's first words are on screen the proxy resets every connection (a dropped
 * link), and the test reads back what the shell printed. Imported by path from each package's
 * test (test code, not a package export).
 */
import { PassThrough } from 'node:stream';
import { expect } from 'vitest';
import type { NetworkProxy } from '../../netem/src/index.ts';
import { type ClientAdapter, Shell } from '../src/cli/index.ts';

/** Paced, so that a cut lands in the middle of the reply (a reply is dozens of tokens). */
export const PACED = { simTtftMs: 0, simTokenDelayMs: 15 };
export const PROMPT = 'tell me about resumable streams, at length please, with every detail you know';
/** How much of the reply must be on screen before the cut. */
const CUT_AFTER_CHARS = 12;
const REPLY_PREFIX = 'model › ';
const CONTINUATION_PREFIX = '      … ';

export interface ShellRun {
  /** Everything the shell printed. */
  output: string;
  /** The reply as the screen shows it, its continuation lines joined, the resume line left out. */
  replyText: string;
  /** The lines that say the reply was resumed. */
  resumedLines: string[];
  /** Connections the proxy reset. */
  cut: number;
  /** The session the shell used. */
  sessionId: string;
}

/**
 * Run the shell with `PROMPT` then `/quit` on a pipe, cutting every connection through `proxy`
 * once CUT_AFTER_CHARS of the reply are printed. `sessionId` joins an existing session.
 */
export async function runShellThroughCut(
  adapter: ClientAdapter,
  proxy: NetworkProxy,
  options: { sessionId?: string } = {},
): Promise<ShellRun> {
  const input = new PassThrough();
  const outputStream = new PassThrough();
  let output = '';
  let cut = 0;
  outputStream.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
    const at = output.indexOf(REPLY_PREFIX);
    if (cut === 0 && at >= 0 && output.length - at - REPLY_PREFIX.length >= CUT_AFTER_CHARS) {
      cut = proxy.cutAll();
    }
  });
  const shell = new Shell(adapter, {
    input,
    output: outputStream,
    interactive: false,
    colorLevel: 0,
    openBrowser: false,
    ...(options.sessionId ? { sessionId: options.sessionId } : {}),
  });
  input.end(`${PROMPT}\n/quit\n`);
  try {
    await shell.run();
  } finally {
    await adapter.close();
  }
  const resumedLines = output.split('\n').filter((line) => /resumed after seq \d+/.test(line));
  const sessionId = shell.sessionId;
  expect(sessionId, output).toBeDefined();
  return { output, replyText: replyText(output), resumedLines, cut, sessionId: sessionId! };
}

/** The reply's text from the screen: the `model › ` line and its `      … ` continuations. */
export function replyText(output: string): string {
  const lines = output.split('\n');
  const first = lines.findIndex((line) => line.startsWith(REPLY_PREFIX));
  expect(first, `no reply on screen:\n${output}`).toBeGreaterThanOrEqual(0);
  let text = lines[first]!.slice(REPLY_PREFIX.length);
  for (const line of lines.slice(first + 1)) {
    if (line.startsWith(CONTINUATION_PREFIX)) text += line.slice(CONTINUATION_PREFIX.length);
    else if (/^ {2}ttft /.test(line)) break;
  }
  return text;
}

/** What a run must show: a cut happened, one resume line, and exactly the stored text. */
export function expectResumedExactly(run: ShellRun, stored: string): void {
  expect(run.cut, run.output).toBeGreaterThan(0);
  expect(run.resumedLines, run.output).toHaveLength(1);
  expect(run.output).not.toMatch(/error \[/);
  expect(run.replyText, run.output).toBe(stored);
  expect(run.output).toMatch(/ {2}ttft .* · total /); // the reply ended with its done
}
