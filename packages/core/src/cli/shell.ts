import { spawn } from 'node:child_process';
import * as readline from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { Chalk, type ChalkInstance } from 'chalk';
import { PROTOCOLS, type Protocol } from '../constants.ts';
import { ChatError } from '../errors.ts';
import type { Session } from '../events.ts';
import { ClientStats } from './client-stats.ts';
import { type ColorLevel, colorLevel } from './color.ts';
import { Spinner } from './spinner.ts';
import type { ClientAdapter, NoticeOptions } from './types.ts';

export interface ShellOptions {
  input?: Readable;
  output?: Writable;
  /** TTY mode: prompt, colours, spinner, Ctrl+C handling. Defaults to whether stdin and stdout are TTYs. */
  interactive?: boolean;
  /** Resume this session instead of creating one. */
  sessionId?: string;
  /** Open /docs and /demo in a browser (TTY mode only by default). */
  openBrowser?: boolean;
  /** Colours; by default from FORCE_COLOR, NO_COLOR and whether the shell is interactive. */
  colorLevel?: ColorLevel;
}

const TYPING_IDLE_MS = 2_000;

interface Command {
  name: string;
  usage?: string;
  description: string;
  run(args: string[]): Promise<void>;
}

/**
 * The client shell every protocol's client.ts reuses. The adapter brings the transport; the
 * shell brings readline, commands, streaming output, a spinner and client-side stats.
 * Not a TTY (a pipe, a test): no prompt or colours, one line or command per input line, exits at EOF.
 */
export class Shell {
  readonly #adapter: ClientAdapter;
  readonly #input: Readable;
  readonly #output: Writable;
  readonly #interactive: boolean;
  readonly #openBrowser: boolean;
  readonly #c: ChalkInstance;
  readonly #spinner: Spinner;
  readonly #stats = new ClientStats();
  readonly #commands = new Map<string, Command>();
  #rl: readline.Interface | undefined;
  #session: Session | undefined;
  #inFlight: AbortController | undefined;
  #typingTimer: NodeJS.Timeout | undefined;
  #closed = false;
  #initialSessionId: string | undefined;
  /** The cursor is not at the start of a line (a reply is being written). */
  #lineOpen = false;
  /** A trace line interrupted the reply's text: the next delta starts a continuation line. */
  #replyInterrupted = false;
  /** The key of the keyed notice printed last, while nothing else was printed after it. */
  #lastNoticeKey: string | undefined;
  /** The nextCursor of the page /sessions printed last: what /sessions more reads. */
  #sessionsCursor: string | undefined;
  /** Lines typed (and entered) while a reply was streaming, held until it ended. */
  readonly #heldLines: string[] = [];

  constructor(adapter: ClientAdapter, options: ShellOptions = {}) {
    this.#adapter = adapter;
    this.#input = options.input ?? process.stdin;
    this.#output = options.output ?? process.stdout;
    this.#interactive =
      options.interactive ??
      Boolean((this.#input as { isTTY?: boolean }).isTTY && (this.#output as { isTTY?: boolean }).isTTY);
    this.#openBrowser = options.openBrowser ?? this.#interactive;
    this.#c = new Chalk({ level: options.colorLevel ?? colorLevel(process.env, this.#interactive) });
    this.#spinner = new Spinner(this.#output, this.#interactive);
    this.#initialSessionId = options.sessionId;
    this.#defineCommands();
  }

  get sessionId(): string | undefined {
    return this.#session?.id;
  }

  /** Cancel the reply in flight, as Ctrl+C does. False when none is running. */
  cancel(): boolean {
    if (!this.#inFlight) return false;
    this.#inFlight.abort();
    return true;
  }

  /** Connect, open a session, then read lines until /quit or the end of input. */
  async run(): Promise<void> {
    this.#adapter.trace?.attach((line) => this.#traceLine(line));
    const health = await this.#adapter.health();
    // /health names the protocol the server speaks: a client pointed at another one says so
    // now, instead of failing on the first message with a confusing error.
    if (PROTOCOLS.includes(health.protocol as Protocol) && health.protocol !== this.#adapter.protocol) {
      throw new ChatError(
        'invalid_request',
        `${this.#adapter.target} is a ${health.protocol} server; use pnpm client ${health.protocol} (this is the ${this.#adapter.protocol} client)`,
      );
    }
    this.#print(
      `${this.#c.bold(`genai-transports · ${this.#adapter.protocol}`)} → ${this.#adapter.target} · model ${health.model.provider} ${health.model.id}`,
    );
    this.#adapter.onNotice?.((notice, options) => this.#notice(notice, options));
    await this.#useSession(
      this.#initialSessionId
        ? await this.#adapter.getSession(this.#initialSessionId)
        : await this.#adapter.createSession(),
    );
    if (this.#interactive)
      this.#print(this.#c.dim('Type a message, or /help. Ctrl+C stops a reply; at the prompt it exits.'));

    const rl = readline.createInterface({
      input: this.#input,
      output: this.#interactive ? this.#output : undefined,
      terminal: this.#interactive,
      historySize: 200,
      completer: (line: string) => this.#complete(line),
    });
    this.#rl = rl;
    rl.setPrompt(this.#c.cyan('you › '));
    rl.on('SIGINT', () => {
      if (this.#inFlight) this.#inFlight.abort();
      else rl.close();
    });
    if (this.#interactive) {
      // Keystrokes during a reply must not be echoed into the model's text: readline keeps them
      // in its line buffer, and the next prompt shows them. (_writeToOutput is readline's one
      // output hook, the usual way to mute its echo.)
      const hooked = rl as unknown as { _writeToOutput(text: string): void };
      const writeToOutput = hooked._writeToOutput.bind(rl);
      hooked._writeToOutput = (text: string) => {
        if (!this.#inFlight) writeToOutput(text);
      };
      rl.on('line', (line) => {
        if (this.#inFlight && line.trim()) this.#heldLines.push(line.trim());
      });
    }
    if (this.#interactive && this.#adapter.typing) {
      this.#input.on('keypress', () => this.#typing());
    }
    const prompt = () => {
      if (this.#interactive && !this.#closed) rl.prompt();
    };
    prompt();
    try {
      for await (const raw of rl) {
        const line = raw.trim();
        const held = this.#heldLines.indexOf(line);
        if (held >= 0) {
          // Typed during the last reply and not echoed then: show what is being run now.
          this.#heldLines.splice(held, 1);
          this.#print(`${this.#c.cyan('you › ')}${line}`);
        }
        if (line) {
          if (this.#typingTimer) this.#stopTyping();
          if (!(await this.#handle(line))) break;
        }
        prompt();
      }
    } finally {
      this.#closed = true;
      this.#stopTyping();
      rl.close();
      // Ctrl+D / Ctrl+C at the prompt: give the user's shell prompt a line of its own.
      if (this.#interactive) this.#output.write('\n');
    }
  }

  /** One input line: a command or a message. False to quit. */
  async #handle(line: string): Promise<boolean> {
    try {
      if (line.startsWith('/')) {
        const [name = '', ...args] = line.slice(1).split(/\s+/);
        if (name === 'quit' || name === 'exit') return false;
        const command = this.#commands.get(name);
        if (!command) this.#error(new ChatError('invalid_request', `unknown command /${name} (try /help)`));
        else await command.run(args);
      } else {
        await this.#send(line);
      }
    } catch (error) {
      this.#error(error);
    }
    return true;
  }

  async #send(text: string): Promise<void> {
    const sessionId = this.#requireSession();
    if (!this.#interactive) this.#print(`you › ${text}`);
    const controller = new AbortController();
    this.#inFlight = controller;
    const startedAt = performance.now();
    let ttftMs: number | undefined;
    let chunks = 0;
    let outcome: 'done' | 'cancelled' | 'error' = 'error';
    let tokens = 0;
    let wroteText = false;
    let failureRecorded = false;
    /** A turn that ended without its done event: counted with the time up to now. */
    const recordUnfinished = (ended: 'cancelled' | 'error', counted: number) =>
      this.#stats.recordTurn({
        ttftMs,
        totalMs: performance.now() - startedAt,
        chunks,
        tokens: counted,
        outcome: ended,
      });
    /** The transport ended the reply without a final event after Ctrl+C: say so and count it. */
    const cutShort = () => {
      this.#print(this.#c.yellow('[cancelled]'));
      recordUnfinished('cancelled', chunks);
    };
    const traceAtStart = this.#traceTotals();
    this.#spinner.start(
      this.#adapter.protocol === 'rest' ? 'waiting for the whole reply…' : 'waiting for the first token…',
    );
    try {
      for await (const event of this.#adapter.send(sessionId, text, { signal: controller.signal })) {
        if (event.type === 'delta') {
          if (ttftMs === undefined) {
            ttftMs = performance.now() - startedAt;
            this.#spinner.stop();
            this.#write(this.#c.green('model › '));
          } else if (this.#replyInterrupted) {
            this.#write(this.#c.green('      … '));
          }
          this.#replyInterrupted = false;
          chunks += 1;
          wroteText = true;
          this.#write(event.text);
        } else if (event.type === 'done') {
          this.#spinner.stop();
          if (!wroteText) this.#write(this.#c.green('model › '));
          outcome = event.finishReason === 'cancelled' ? 'cancelled' : 'done';
          tokens = event.usage.outputTokens || chunks;
          const totalMs = performance.now() - startedAt;
          const note =
            event.finishReason === 'cancelled'
              ? this.#c.yellow(' [cancelled]')
              : event.finishReason === 'max_tokens'
                ? this.#c.yellow(' [max tokens]')
                : '';
          // After a trace line the reply's line may already be closed: no empty line then.
          if (this.#lineOpen || note) this.#write(`${note}\n`);
          this.#print(
            this.#c.dim(
              `  ttft ${ttftMs === undefined ? '-' : fmtMs(ttftMs)} · total ${fmtMs(totalMs)} · ${chunks} chunk${chunks === 1 ? '' : 's'} · ${tokens} tokens`,
            ),
          );
          this.#printTraceTurn(traceAtStart);
          this.#stats.recordTurn({ ttftMs, totalMs, chunks, tokens, outcome });
          return;
        } else if (event.type === 'error') {
          this.#spinner.stop();
          recordUnfinished('error', 0);
          failureRecorded = true;
          throw ChatError.fromBody(event.error);
        }
      }
      // The stream ended without done/error: the transport was cut.
      this.#spinner.stop();
      if (controller.signal.aborted) {
        cutShort();
      } else {
        throw new ChatError('unavailable', 'the reply stream ended before the reply was done');
      }
    } catch (error) {
      this.#spinner.stop();
      if (controller.signal.aborted && !(error instanceof ChatError)) {
        cutShort();
        return;
      }
      // Refused or failed without an in-band error event (REST's 502, a 404, a lost connection):
      // a failed turn all the same, with no first token unless one had arrived.
      if (!failureRecorded) recordUnfinished('error', chunks);
      throw error;
    } finally {
      this.#inFlight = undefined;
    }
  }

  #defineCommands(): void {
    const a = this.#adapter;
    const add = (command: Command) => this.#commands.set(command.name, command);
    add({
      name: 'help',
      description: 'list the commands',
      run: async () => {
        const width = Math.max(
          ...[...this.#commands.values()].map((c) => `/${c.name}${c.usage ? ` ${c.usage}` : ''}`.length),
        );
        for (const c of this.#commands.values()) {
          this.#print(`  ${`/${c.name}${c.usage ? ` ${c.usage}` : ''}`.padEnd(width)}  ${c.description}`);
        }
        this.#print(`  ${'/quit'.padEnd(width)}  exit`);
      },
    });
    add({
      name: 'new',
      description: 'start a new session',
      run: async () => this.#useSession(await a.createSession()),
    });
    add({
      name: 'sessions',
      usage: '[more]',
      description: 'list your sessions on the server, a page at a time (/sessions more: the next page)',
      run: async ([more]) => {
        if (more !== undefined && more !== 'more')
          throw new ChatError('invalid_request', 'usage: /sessions [more]');
        if (more && !this.#sessionsCursor) {
          this.#print('no more sessions (/sessions starts from the first page)');
          return;
        }
        const cursor = more ? this.#sessionsCursor : undefined;
        const page = a.sessionsPage ? await a.sessionsPage(cursor) : { sessions: await a.listSessions() };
        this.#sessionsCursor = page.nextCursor;
        if (page.sessions.length === 0) this.#print('no sessions');
        for (const s of page.sessions) {
          const mark = s.id === this.#session?.id ? '*' : ' ';
          this.#print(`${mark} ${s.id}  ${s.messageCount} messages  updated ${s.updatedAt}`);
        }
        if (page.nextCursor) this.#print(this.#c.dim('  more… (/sessions more)'));
      },
    });
    add({
      name: 'switch',
      usage: '<id>',
      description: 'switch to another session (a unique prefix of its id is enough)',
      run: async ([prefix]) => {
        if (!prefix) throw new ChatError('invalid_request', 'usage: /switch <id>');
        const matches = (await a.listSessions()).filter((s) => s.id.startsWith(prefix));
        if (matches.length !== 1) {
          throw new ChatError(
            matches.length ? 'invalid_request' : 'session_not_found',
            matches.length
              ? `"${prefix}" matches ${matches.length} sessions`
              : `no session starts with "${prefix}"`,
          );
        }
        await this.#useSession(matches[0]!);
      },
    });
    add({
      name: 'info',
      description: 'the current session',
      run: async () => {
        const s = await a.getSession(this.#requireSession());
        this.#print(
          `session ${s.id}\n  messages ${s.messageCount}\n  created ${s.createdAt}\n  updated ${s.updatedAt}\n  model ${s.model.provider} ${s.model.id}`,
        );
      },
    });
    add({
      name: 'history',
      description: 'the conversation so far',
      run: async () => {
        const messages = await a.history(this.#requireSession());
        if (messages.length === 0) this.#print('(no messages yet)');
        for (const m of messages) {
          const who = m.role === 'user' ? this.#c.cyan('you   ') : this.#c.green('model ');
          this.#print(`${who} ${m.text}${m.interrupted ? this.#c.yellow(' [interrupted]') : ''}`);
        }
      },
    });
    add({
      name: 'clear',
      description: "clear the current session's history",
      run: async () => {
        await a.clearHistory(this.#requireSession());
        this.#print('history cleared');
      },
    });
    add({
      name: 'delete',
      description: 'delete the current session and start a new one',
      run: async () => {
        const id = this.#requireSession();
        await a.deleteSession(id);
        this.#print(`deleted ${id}`);
        await this.#useSession(await a.createSession());
      },
    });
    add({
      name: 'stats',
      description: 'what this client measured: TTFT, total, tokens/s, bytes, reconnects',
      run: async () => {
        const s = this.#stats;
        const ttft = s.ttft.summary();
        const total = s.total.summary();
        this.#print(`client-side stats (${a.protocol})`);
        this.#print(`  turns        ${s.turns} (${s.cancelled} cancelled, ${s.failed} failed)`);
        // TTFT only of turns that had a first token (a turn cancelled before it, or failed, has none).
        this.#print(
          ttft.count
            ? `  ttft         p50 ${fmtMs(ttft.p50)} · p95 ${fmtMs(ttft.p95)} (${ttft.count} turn${ttft.count === 1 ? '' : 's'} with a first token)`
            : '  ttft         - (no turn had a first token yet)',
        );
        this.#print(`  total        p50 ${fmtMs(total.p50)} · p95 ${fmtMs(total.p95)}`);
        this.#print(
          `  tokens/s     ${s.tokensPerSecond.toFixed(1)} (${s.tokens} tokens in ${s.chunks} chunks)`,
        );
        this.#print(`  bytes in     ${a.bytesReceived()}`);
        this.#print(`  reconnects   ${a.reconnects?.() ?? 0}`);
      },
    });
    add({
      name: 'server',
      description: "the server's own stats",
      run: async () => this.#print(JSON.stringify(await a.stats(), null, 2)),
    });
    add({
      name: 'health',
      description: 'ask the server whether it is healthy',
      run: async () => this.#print(JSON.stringify(await a.health())),
    });
    // Only where the server has them: /help must not offer what answers "there is none".
    if (a.docsUrl) {
      add({
        name: 'docs',
        description: 'the API documentation (Swagger UI)',
        run: async () => this.#showUrl(a.docsUrl, 'API docs'),
      });
    }
    if (a.demoUrl) {
      add({
        name: 'demo',
        description: 'the browser demo',
        run: async () => this.#showUrl(a.demoUrl, 'browser demo'),
      });
    }
    const trace = a.trace;
    if (trace) {
      add({
        name: 'trace',
        usage: '[on|off]',
        description: 'show what crosses the wire (request lines, headers, frames, bytes)',
        run: async ([mode]) => {
          if (mode === 'on' || mode === 'off') trace.enabled = mode === 'on';
          else if (mode !== undefined) throw new ChatError('invalid_request', 'usage: /trace on|off');
          this.#print(
            `trace ${trace.enabled ? 'on' : 'off'} · sent ${trace.bytesSent} B · received ${trace.bytesReceived} B so far`,
          );
        },
      });
    }
    for (const extra of a.commands ?? []) {
      add({
        name: extra.name,
        description: extra.description,
        ...(extra.usage ? { usage: extra.usage } : {}),
        run: async (args) => {
          const out = await extra.run(args, { sessionId: this.#session?.id });
          if (out) this.#print(out);
        },
      });
    }
  }

  async #useSession(session: Session): Promise<void> {
    await this.#adapter.useSession?.(session.id);
    this.#session = session;
    this.#print(this.#c.dim(`session ${session.id} (${session.messageCount} messages)`));
  }

  #requireSession(): string {
    if (!this.#session) throw new ChatError('invalid_request', 'no session: use /new');
    return this.#session.id;
  }

  #showUrl(url: string | undefined, what: string): void {
    if (!url) {
      this.#print(`the ${this.#adapter.protocol} server has no ${what}`);
      return;
    }
    this.#print(`${what}: ${url}`);
    if (this.#openBrowser) openInBrowser(url);
  }

  #typing(): void {
    if (this.#inFlight || !this.#adapter.typing) return;
    if (!this.#typingTimer) this.#adapter.typing(true);
    clearTimeout(this.#typingTimer);
    this.#typingTimer = setTimeout(() => this.#stopTyping(), TYPING_IDLE_MS);
  }

  #stopTyping(): void {
    if (!this.#typingTimer) return;
    clearTimeout(this.#typingTimer);
    this.#typingTimer = undefined;
    this.#adapter.typing?.(false);
  }

  /**
   * Something that happened outside a reply: printed above the prompt without losing what is
   * typed. A keyed notice (one changing status) replaces the previous one of its key in place
   * on a terminal, and is printed once per run of them on a pipe.
   */
  #notice(text: string, options: NoticeOptions = {}): void {
    if (this.#closed) return;
    const { key } = options;
    const repeat = key !== undefined && key === this.#lastNoticeKey;
    if (repeat && !this.#interactive) return;
    const styled = options.dim ? this.#c.dim(text) : this.#c.magenta(text);
    const atPrompt = this.#interactive && this.#rl && !this.#inFlight;
    if (atPrompt) {
      // Up one line over the previous status when this one replaces it, then clear and write.
      this.#output.write(`${repeat ? '\x1b[1A' : ''}\r\x1b[K${styled}\n`);
      this.#rl?.prompt(true);
    } else if (repeat && !this.#lineOpen) {
      this.#output.write(`\x1b[1A\r\x1b[K${styled}\n`);
    } else {
      // In the middle of a reply's text (a resume): the text goes on, on a continuation line.
      this.#spinner.stop();
      if (this.#lineOpen) this.#replyInterrupted = true;
      this.#print(styled);
    }
    this.#lastNoticeKey = key;
  }

  /** A line of its own: after a partial reply it starts on a new line. */
  #print(text: string): void {
    if (this.#lineOpen) this.#output.write('\n');
    this.#output.write(`${text}\n`);
    this.#lineOpen = false;
    this.#lastNoticeKey = undefined;
  }

  /** Text that may leave the line open (the reply as it streams). */
  #write(text: string): void {
    if (!text) return;
    this.#output.write(text);
    this.#lineOpen = !text.endsWith('\n');
    this.#lastNoticeKey = undefined;
  }

  #traceLine(line: string): void {
    if (this.#closed) return;
    this.#spinner.stop();
    if (this.#lineOpen) this.#replyInterrupted = true;
    this.#print(this.#c.dim(line));
  }

  #traceTotals(): { sent: number; received: number } | undefined {
    const trace = this.#adapter.trace;
    return trace ? { sent: trace.bytesSent, received: trace.bytesReceived } : undefined;
  }

  /** With --trace, what this turn cost on the wire, per direction. */
  #printTraceTurn(atStart: { sent: number; received: number } | undefined): void {
    const trace = this.#adapter.trace;
    if (!trace?.enabled || !atStart) return;
    this.#print(
      this.#c.dim(
        `  wire: sent ${trace.bytesSent - atStart.sent} B · received ${trace.bytesReceived - atStart.received} B this turn (${trace.bytesSent} B / ${trace.bytesReceived} B in all)`,
      ),
    );
  }

  #error(error: unknown): void {
    const e = asChatError(error);
    // The current session is gone (a server restart without Redis, a delete elsewhere):
    // every later command would fail the same way, so say what to do.
    if (e.code === 'session_not_found' && this.#session && e.message.includes(this.#session.id)) {
      this.#print(this.#c.red(`error [${e.code}]: ${e.message}`));
      this.#print(
        this.#c.yellow(
          `the session ${this.#session.id} is gone (the server restarted or it was deleted); /new starts a new one, /sessions lists the others`,
        ),
      );
      return;
    }
    this.#print(this.#c.red(describeError(e)));
  }

  #complete(line: string): [string[], string] {
    if (!line.startsWith('/')) return [[], line];
    const names = [...this.#commands.keys(), 'quit'].map((n) => `/${n}`);
    const hits = names.filter((n) => n.startsWith(line));
    return [hits.length ? hits : names, line];
  }
}

function asChatError(error: unknown): ChatError {
  return error instanceof ChatError
    ? error
    : error instanceof Error
      ? new ChatError('internal', error.message)
      : ChatError.from(error);
}

/** One line for an error, with what to do where the code says it: a missing token names --token. */
export function describeError(error: unknown): string {
  const e = asChatError(error);
  const hint =
    e.code === 'unauthorized'
      ? " (pass the server's AUTH_TOKEN with --token <token>, or set AUTH_TOKEN)"
      : '';
  return `error [${e.code}]: ${e.message}${hint}`;
}

export function fmtMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(ms < 10 ? 1 : 0)} ms`;
}

/** Open a URL with the desktop's opener, where there is one; silently nothing otherwise. */
function openInBrowser(url: string): void {
  const opener =
    process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) return;
  try {
    const child = spawn(opener, [url], { stdio: 'ignore', detached: true });
    child.on('error', () => undefined);
    child.unref();
  } catch {
    // no opener: the URL is printed already
  }
}
