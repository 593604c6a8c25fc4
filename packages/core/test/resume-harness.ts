/**
 * The client side of issue 17's cut-connection tests, shared by the four streaming transports:
 * the real shell, through a protocol's adapter, talks to a real server through @gtp/netem's
 * proxy; once the reply's first words are on screen the proxy resets every connection (a dropped
 * link), and the test reads back what the shell printed. Imported by path from each package's
 * test (test code, not a package export).
 */
import net from 'node:net';
import { PassThrough } from 'node:stream';
import { expect } from 'vitest';
import { type NetworkProxy, PROFILES, startProxy } from '../../netem/src/index.ts';
import { type ClientAdapter, Shell } from '../src/cli/index.ts';
import {
  type ChatServer,
  ChatService,
  MemorySessionStore,
  type ModelProvider,
  type ReplyListener,
  SimulatedModel,
} from '../src/index.ts';

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
 * `downUntil`: the link stays down after the cut (a `link` from linkInFront refuses every
 * connection) until the promise it returns for the session settles.
 */
export async function runShellThroughCut(
  adapter: ClientAdapter,
  proxy: NetworkProxy,
  options: { sessionId?: string; link?: Link; downUntil?: (sessionId: string) => Promise<unknown> } = {},
): Promise<ShellRun> {
  const input = new PassThrough();
  const outputStream = new PassThrough();
  let output = '';
  let cut = 0;
  let shell: Shell | undefined;
  let downFailed: unknown;
  outputStream.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
    const at = output.indexOf(REPLY_PREFIX);
    if (cut === 0 && at >= 0 && output.length - at - REPLY_PREFIX.length >= CUT_AFTER_CHARS) {
      const { link, downUntil } = options;
      if (link && downUntil && shell?.sessionId) {
        link.down = true;
        void downUntil(shell.sessionId)
          .catch((error: unknown) => {
            downFailed = error;
          })
          .finally(() => {
            link.down = false;
          });
      }
      cut = proxy.cutAll();
    }
  });
  shell = new Shell(adapter, {
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
  const { sessionId } = shell;
  expect(sessionId, output).toBeDefined();
  expect(downFailed, output).toBeUndefined(); // the link was down for the reason the test gave
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

const served: { server: ChatServer; proxy: NetworkProxy }[] = [];

/**
 * Start a server (`start()`, e.g. the package's createServer with `testConfig(PACED)`) on an
 * ephemeral 127.0.0.1 port behind a loopback proxy that can cut its connections. `url` is the
 * server's own address (to read what it stored), `proxy.port` the one the client talks to.
 * `closeServed()` (in afterEach) closes them all.
 */
export async function serveBehindProxy(
  start: () => Promise<ChatServer>,
): Promise<{ url: string; proxy: NetworkProxy }> {
  const server = await start();
  const url = await server.listen({ port: 0, host: '127.0.0.1' });
  const proxy = await startProxy({ target: { port: Number(new URL(url).port) }, profile: PROFILES.loopback });
  served.push({ server, proxy });
  return { url, proxy };
}

export async function closeServed(): Promise<void> {
  await Promise.all(
    links.splice(0).map(({ server, sockets }) => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(resolve));
    }),
  );
  const all = served.splice(0);
  await Promise.all(all.map(({ proxy }) => proxy.close()));
  await Promise.all(all.map(({ server }) => server.close()));
}

/** The reply the server stored last in session `id` (GET /sessions/:id/messages). */
export async function storedReply(url: string, id: string): Promise<string> {
  const response = await fetch(`${url}/sessions/${id}/messages`);
  const { messages } = (await response.json()) as { messages: { role: string; text: string }[] };
  expect(messages.at(-1)?.role).toBe('model');
  return messages.at(-1)!.text;
}

/**
 * A ChatService whose reply log keeps only 4 entries: a cut reply's resume point is already out
 * of it (reset, not replaying), so the client must fill the missing middle from the history.
 */
export const chatWithSmallLog = (tokenDelayMs = PACED.simTokenDelayMs): ChatService =>
  new ChatService({
    store: new MemorySessionStore(),
    model: new SimulatedModel({ ttftMs: 0, tokenDelayMs }),
    replyLogSize: 4,
  });

/** A TCP hop in front of the proxy that, while `down`, resets every connection it is offered. */
export interface Link {
  port: number;
  down: boolean;
}

const links: { server: net.Server; sockets: Set<net.Socket> }[] = [];

/**
 * A link from the client to `proxy`: while `down` (after the proxy's cut) the network stays
 * unreachable, so a reply can end before the client gets back (`closeServed()` closes it).
 */
export async function linkInFront(proxy: NetworkProxy): Promise<Link> {
  const link: Link = { port: 0, down: false };
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    if (link.down) {
      socket.resetAndDestroy();
      return;
    }
    const upstream = net.connect({ host: '127.0.0.1', port: proxy.port });
    const drop = () => {
      if (!socket.destroyed) socket.resetAndDestroy();
      if (!upstream.destroyed) upstream.resetAndDestroy();
    };
    socket.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    socket.pipe(upstream).pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  links.push({ server, sockets });
  link.port = (server.address() as net.AddressInfo).port;
  return link;
}

/** Resolves once the session's log has the `done` of a reply (the reply ended). */
export function replyEnded(chat: ChatService, sessionId: string): Promise<void> {
  return new Promise((resolve) => {
    void watch(chat, sessionId, (type) => type === 'done', resolve);
  });
}

/**
 * Resolves once `count` more events are logged in the session (the client's resume point is
 * then out of a small log) while its reply still runs: fails if the reply ended first.
 */
export function logMovedOn(chat: ChatService, sessionId: string, count: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = 0;
    void watch(
      chat,
      sessionId,
      (type) => {
        if (type === 'done' || type === 'error') {
          reject(new Error(`the reply ended before the log moved on by ${count}`));
          return true;
        }
        seen += 1;
        return seen >= count;
      },
      resolve,
    );
  });
}

async function watch(
  chat: ChatService,
  sessionId: string,
  enough: (type: string) => boolean,
  then: () => void,
): Promise<void> {
  let live = false;
  let stop: (() => void) | undefined;
  let over = false;
  const listener: ReplyListener = {
    send: (item) => {
      if (!live || over) return;
      if (enough(item.type)) {
        over = true;
        stop?.();
        then();
      }
    },
    reset: () => undefined,
    caughtUp: () => {
      live = true;
    },
    close: () => undefined,
  };
  stop = await chat.log.subscribe(sessionId, listener, Number.MAX_SAFE_INTEGER);
  if (over) stop();
}

/**
 * A ChatService whose model writes a few words (paced) and then stalls until it is cancelled:
 * a reply that, once resumed, sends nothing more (the server and its socket are fine).
 */
export function chatThatStalls(): ChatService {
  const model: ModelProvider = {
    info: { provider: 'simulated', id: 'stalls-after-a-few-words' },
    async *stream(_history, options = {}) {
      for (const word of 'Resumable streams are a fine thing to have here '.split(/(?<= )/)) {
        await new Promise((resolve) => setTimeout(resolve, PACED.simTokenDelayMs));
        yield word;
      }
      await new Promise((resolve) => options.signal?.addEventListener('abort', resolve, { once: true }));
      return { finishReason: 'stop' };
    },
  };
  return new ChatService({ store: new MemorySessionStore(), model });
}
