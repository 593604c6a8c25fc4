/**
 * The terminal client of each protocol, as a person uses it, through real servers on loopback:
 * pointed at another protocol's server it says which client to use; after a server restart it
 * says the session is gone and offers /new; /stats counts TTFT only for turns that had a first
 * token; `--trace` shows what crossed the wire, checked here byte for byte against a TCP tap
 * between client and server.
 */
import { spawn } from 'node:child_process';
import { createServer as createTcpServer, Socket, type Server as TcpServer } from 'node:net';
import { dirname, join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { ChatServer, Config, Protocol } from '@gtp/core';
import { type ClientAdapter, Shell, WireTrace } from '@gtp/core/cli';
import { testConfig } from '@gtp/core/testing';
import { GrpcAdapter } from '@gtp/grpc/client';
import { createServer as createGrpc } from '@gtp/grpc/server';
import { RestAdapter } from '@gtp/rest/client';
import { createServer as createRest } from '@gtp/rest/server';
import { SseAdapter } from '@gtp/sse/client';
import { createServer as createSse } from '@gtp/sse/server';
import { StreamableHttpAdapter } from '@gtp/streamable-http/client';
import { createServer as createStreamableHttp } from '@gtp/streamable-http/server';
import { WebSocketAdapter } from '@gtp/websocket/client';
import { createServer as createWebSocket } from '@gtp/websocket/server';
import { afterEach, describe, expect, it } from 'vitest';

interface Row {
  protocol: Protocol;
  serve(config: Config): Promise<ChatServer>;
  adapter(target: string, trace?: WireTrace): ClientAdapter;
}

const ROWS: readonly Row[] = [
  {
    protocol: 'rest',
    serve: (config) => createRest({ config }),
    adapter: (target, trace) => new RestAdapter(target, trace ? { trace } : {}),
  },
  {
    protocol: 'streamable-http',
    serve: (config) => createStreamableHttp({ config }),
    adapter: (target, trace) => new StreamableHttpAdapter(target, trace ? { trace } : {}),
  },
  {
    protocol: 'sse',
    serve: (config) => createSse({ config }),
    adapter: (target, trace) => new SseAdapter(target, trace ? { trace } : {}),
  },
  {
    protocol: 'websocket',
    serve: (config) => createWebSocket({ config }),
    adapter: (target, trace) => new WebSocketAdapter(target, trace ? { trace } : {}),
  },
  {
    protocol: 'grpc',
    serve: (config) => createGrpc({ config }),
    adapter: (target, trace) => new GrpcAdapter(target, trace ? { trace } : {}),
  },
];

const HOST = '127.0.0.1';
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
/** The address a client of this protocol is given for a server at host:port. */
const targetFor = (protocol: Protocol, port: number) =>
  protocol === 'grpc' ? `${HOST}:${port}` : `http://${HOST}:${port}`;
const portOf = (url: string) => Number(new URL(url.includes('://') ? url : `http://${url}`).port);

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

async function serve(
  row: Row,
  config: Config = testConfig(),
  port = 0,
): Promise<{ server: ChatServer; port: number }> {
  const server = await row.serve(config);
  const url = await server.listen({ port, host: HOST });
  const closeServer = server.close.bind(server);
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await closeServer();
  };
  cleanups.push(close);
  return { server: Object.assign(server, { close }), port: portOf(url) };
}

/** A shell over a pipe: write lines with `send`, read everything it printed with `text()`. */
function pipeShell(adapter: ClientAdapter) {
  const input = new PassThrough();
  const output = new PassThrough();
  let text = '';
  output.on('data', (chunk) => {
    text += chunk.toString();
  });
  const shell = new Shell(adapter, { input, output, interactive: false, colorLevel: 0 });
  const done = shell.run();
  cleanups.push(async () => {
    input.end();
    await done.catch(() => undefined);
    await adapter.close();
  });
  return {
    done,
    send: (line: string) => input.write(`${line}\n`),
    end: (line?: string) => input.end(line === undefined ? undefined : `${line}\n`),
    text: () => text,
  };
}

async function until(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * A loopback TCP proxy that records every byte per connection and direction, and can cut every
 * connection at once (what a client sees when its server dies).
 */
class Tap {
  readonly connections: { up: Buffer[]; down: Buffer[] }[] = [];
  readonly #sockets = new Set<Socket>();
  readonly #server: TcpServer;
  port = 0;

  constructor(upstreamPort: number) {
    this.#server = createTcpServer((client) => {
      const record = { up: [] as Buffer[], down: [] as Buffer[] };
      this.connections.push(record);
      const upstream = new Socket();
      upstream.connect(upstreamPort, HOST);
      for (const s of [client, upstream]) {
        this.#sockets.add(s);
        s.on('error', () => undefined);
        s.on('close', () => {
          this.#sockets.delete(s);
          client.destroy();
          upstream.destroy();
        });
      }
      client.on('data', (chunk: Buffer) => {
        record.up.push(chunk);
        upstream.write(chunk);
      });
      upstream.on('data', (chunk: Buffer) => {
        record.down.push(chunk);
        client.write(chunk);
      });
    });
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, HOST, resolve));
    this.port = (this.#server.address() as { port: number }).port;
    cleanups.push(() => this.close());
    return this;
  }

  bytes(direction: 'up' | 'down'): number {
    return this.connections.reduce((sum, c) => sum + Buffer.concat(c[direction]).length, 0);
  }

  cut(): void {
    for (const s of this.#sockets) s.destroy();
  }

  close(): Promise<void> {
    this.cut();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}

/** The trace lines the shell printed, with their direction and the byte count they claimed. */
function traceLines(text: string) {
  const lines: { arrow: string; title: string; bytes: number | undefined; detail: string[] }[] = [];
  for (const line of text.split('\n')) {
    const head = /^\d\d:\d\d:\d\d\.\d{3} ([→←·]) (.*?)(?: \((\d+) B\))?$/.exec(line);
    if (head) {
      lines.push({
        arrow: head[1]!,
        title: head[2]!,
        bytes: head[3] ? Number(head[3]) : undefined,
        detail: [],
      });
    } else if (/^ {15}/.test(line) && lines.length) lines.at(-1)!.detail.push(line.trim());
  }
  return lines;
}

const sum = (lines: ReturnType<typeof traceLines>, arrow: string) =>
  lines.filter((l) => l.arrow === arrow).reduce((s, l) => s + (l.bytes ?? 0), 0);

/**
 * One HTTP/1.1 response stream (what a server wrote on one connection) split into its parts:
 * header blocks, and bodies with the chunked encoding's size lines taken out (counted apart).
 */
function parseHttpResponses(raw: Buffer) {
  const headers: string[] = [];
  const bodies: Buffer[] = [];
  let chunkFramingBytes = 0;
  let at = 0;
  while (at < raw.length) {
    const end = raw.indexOf('\r\n\r\n', at);
    if (end < 0) break;
    const head = raw.subarray(at, end + 4).toString('latin1');
    headers.push(head);
    at = end + 4;
    if (/^HTTP\/1\.1 101/.test(head)) {
      bodies.push(raw.subarray(at)); // the WebSocket frames follow
      break;
    }
    const length = /\r\ncontent-length: (\d+)/i.exec(head);
    if (length) {
      bodies.push(raw.subarray(at, at + Number(length[1])));
      at += Number(length[1]);
    } else if (/\r\ntransfer-encoding: chunked/i.test(head)) {
      const parts: Buffer[] = [];
      for (;;) {
        const lineEnd = raw.indexOf('\r\n', at);
        if (lineEnd < 0) break;
        const size = Number.parseInt(raw.subarray(at, lineEnd).toString('latin1'), 16);
        const complete = lineEnd + 2 + size + 2 <= raw.length;
        if (!complete) break; // cut by the end of the test
        parts.push(raw.subarray(lineEnd + 2, lineEnd + 2 + size));
        chunkFramingBytes += lineEnd + 2 - at + 2;
        at = lineEnd + 2 + size + 2;
        if (size === 0) break;
      }
      bodies.push(Buffer.concat(parts));
    }
  }
  return { headers, bodies, chunkFramingBytes };
}

/** The server-to-client WebSocket frames in `raw` (unmasked, unfragmented, 7/16-bit lengths). */
function parseWsFrames(raw: Buffer): { opcode: number; payload: Buffer }[] {
  const frames: { opcode: number; payload: Buffer }[] = [];
  let at = 0;
  while (at + 2 <= raw.length) {
    const opcode = raw[at]! & 0x0f;
    let length = raw[at + 1]! & 0x7f;
    let offset = at + 2;
    if (length === 126) {
      length = raw.readUInt16BE(offset);
      offset += 2;
    }
    frames.push({ opcode, payload: raw.subarray(offset, offset + length) });
    at = offset + length;
  }
  return frames;
}

/** The trace's rendering of a payload (control characters escaped). */
const shown = (text: string) => text.replace(/\n/g, '\\n').replace(/\r/g, '\\r');

describe.each(ROWS)('$protocol client', (row) => {
  it('pointed at another protocol’s server says which client to use', async () => {
    const others = ROWS.filter((r) => r.protocol !== row.protocol);
    for (const other of others) {
      const { port } = await serve(other);
      const adapter = row.adapter(targetFor(row.protocol, port));
      const output = new PassThrough();
      const run = new Shell(adapter, {
        input: new PassThrough().end('hi\n'),
        output,
        interactive: false,
        colorLevel: 0,
      }).run();
      await expect(run, `${row.protocol} client → ${other.protocol} server`).rejects.toThrow(
        `is a ${other.protocol} server; use pnpm client ${other.protocol}`,
      );
      await adapter.close();
    }
  }, 60_000);

  it('/stats counts TTFT only of turns that had a first token', async () => {
    // The model fails before its first token: the turn counts as failed, with no TTFT.
    const { port } = await serve(row, testConfig({ simFailAfterTokens: 0 }));
    const shell = pipeShell(row.adapter(targetFor(row.protocol, port)));
    shell.send('this one fails before a token');
    shell.end('/stats');
    await shell.done;
    expect(shell.text()).toMatch(/error \[model_error\]/);
    expect(shell.text()).toMatch(/turns +1 \(0 cancelled, 1 failed\)/);
    expect(shell.text()).toMatch(/ttft +- \(no turn had a first token yet\)/);
    expect(shell.text()).not.toMatch(/ttft +p50 0\.0 ms/);
  });

  it.skipIf(row.protocol === 'sse')(
    // SSE has its own test (packages/sse/test/client-server-death.test.ts): its event stream
    // learns of the restart before any command does.
    'after a server restart (in-memory sessions) says the session is gone and offers /new',
    async () => {
      const first = await serve(row);
      const shell = pipeShell(row.adapter(targetFor(row.protocol, first.port)));
      shell.send('hello');
      await until(
        () => /model › Turn 1/.test(shell.text()) && /tokens\n/.test(shell.text()),
        'the first reply',
      );
      await first.server.close();
      await serve(row, testConfig(), first.port);
      shell.send('are you still there?');
      await until(() => /is gone/.test(shell.text()), 'the session-gone notice');
      shell.end('/new\nhello again');
      await shell.done;
      const text = shell.text();
      expect(text).toMatch(
        /error \[session_not_found\][^\n]*\nthe session [0-9a-f-]{36} is gone \(the server restarted or it was deleted\); \/new starts a new one/,
      );
      expect(text).toMatch(/model › Turn 1: you said "hello again"/);
    },
    30_000,
  );

  it('--trace prints what crossed the wire, byte for byte what passed a TCP tap', async () => {
    const { port } = await serve(row);
    const tap = await new Tap(port).listen();
    const trace = new WireTrace({ enabled: true });
    const adapter = row.adapter(targetFor(row.protocol, tap.port), trace);
    const shell = pipeShell(adapter);
    shell.send('hi');
    await until(() => /tokens\n {2}wire: /.test(shell.text()), 'the traced turn');
    // Counted on the tap only once the last bytes have passed: wait for the totals to settle.
    await until(() => tap.bytes('up') >= trace.bytesSent, 'the bytes sent to reach the tap');
    if (row.protocol === 'grpc')
      await until(() => /trailers of \S+StreamMessage/.test(shell.text()), 'the call’s trailers');
    if (process.env.TAP_DUMP)
      console.log(
        tap.connections.map((c) => Buffer.concat(c.up).toString('latin1')).join('\n=====\n'),
        '\n\n',
        shell.text(),
      );
    const text = shell.text();
    const lines = traceLines(text);
    expect(lines.length).toBeGreaterThan(5);
    // What the shell printed per line adds up to the trace's own totals, and the per-turn line agrees.
    expect(sum(lines, '→')).toBe(trace.bytesSent);
    expect(sum(lines, '←')).toBe(trace.bytesReceived);
    expect(text).toMatch(
      new RegExp(
        `wire: sent \\d+ B · received \\d+ B this turn \\(${trace.bytesSent} B / ${trace.bytesReceived} B in all\\)`,
      ),
    );

    if (row.protocol === 'grpc') {
      // gRPC: the trace shows messages (5-byte prefix + protobuf); HTTP/2 frames and HPACK
      // headers around them are not counted. Every message it printed passed the tap verbatim.
      const up = Buffer.concat(tap.connections.flatMap((c) => c.up));
      const down = Buffer.concat(tap.connections.flatMap((c) => c.down));
      const messages = lines.filter((l) => l.title.startsWith('message '));
      expect(messages.some((m) => m.title.startsWith('message StreamMessage'))).toBe(true);
      for (const message of messages) {
        const hexLine = message.detail.find((d) => d.startsWith('hex: '))!;
        const bytes = Buffer.from(hexLine.slice(5).replace(/ /g, ''), 'hex');
        // the prefix it printed is the 5-byte prefix of these bytes: flag 0, big-endian length
        expect(bytes[0]).toBe(0);
        expect(bytes.readUInt32BE(1)).toBe(bytes.length - 5);
        expect(message.bytes).toBe(bytes.length);
        expect((message.arrow === '→' ? up : down).includes(bytes), message.title).toBe(true);
      }
      expect(trace.bytesSent).toBeLessThan(tap.bytes('up'));
      expect(trace.bytesReceived).toBeLessThan(tap.bytes('down'));
      expect(
        lines.some((l) =>
          /trailers of \/genai\.chat\.v1\.ChatService\/StreamMessage: grpc-status 0/.test(l.title),
        ),
      ).toBe(true);
      return;
    }

    // HTTP/1.1 (and the WebSocket upgrade): every byte the client sent is counted, exactly.
    expect(trace.bytesSent).toBe(tap.bytes('up'));
    // Every byte received too, except the chunked encoding's size lines (undici hands over bodies
    // without them): the header blocks and the bodies as the server wrote them.
    let framing = 0;
    const headerBlocks: string[] = [];
    const bodies: Buffer[] = [];
    for (const connection of tap.connections) {
      const parsed = parseHttpResponses(Buffer.concat(connection.down));
      framing += parsed.chunkFramingBytes;
      headerBlocks.push(...parsed.headers);
      bodies.push(...parsed.bodies);
    }
    expect(trace.bytesReceived).toBe(tap.bytes('down') - framing);
    // Each status line it printed is one the server wrote, with the byte count of its header block.
    for (const line of lines.filter((l) => l.arrow === '←' && l.title.startsWith('HTTP/1.1 '))) {
      expect(headerBlocks.some((h) => h.startsWith(line.title) && Buffer.byteLength(h) === line.bytes)).toBe(
        true,
      );
    }
    const wire = bodies.map((b) => b.toString('utf8')).join('');
    if (row.protocol === 'streamable-http') {
      const printed = lines.flatMap((l) => l.detail).filter((d) => d.startsWith('line: '));
      // Every line the server wrote (each carries its seq: the start, every delta, the done).
      const written = wire.split('\n').filter((l) => l.startsWith('{"seq":'));
      expect(written.length).toBeGreaterThan(3);
      for (const line of written) expect(printed).toContain(`line: ${shown(line)}`);
    } else if (row.protocol === 'sse') {
      const printed = lines.flatMap((l) => l.detail).filter((d) => d.startsWith('event block: '));
      // Every event block (a delta's data is its text as a JSON string, the others an object).
      const written = wire.split('\n\n').filter((b) => b.startsWith('event: ') && b.includes('\ndata: '));
      expect(written.length).toBeGreaterThan(3);
      for (const block of written) expect(printed).toContain(`event block: ${shown(block)}`);
    } else if (row.protocol === 'websocket') {
      const upgrade = tap.connections.find((c) =>
        Buffer.concat(c.down).toString('latin1').startsWith('HTTP/1.1 101'),
      )!;
      const frames = parseWsFrames(parseHttpResponses(Buffer.concat(upgrade.down)).bodies[0]!);
      const printed = lines.filter((l) => l.arrow === '←' && l.title.startsWith('frame '));
      expect(printed).toHaveLength(frames.length);
      frames.forEach((frame, i) => {
        const header = frame.payload.length < 126 ? 2 : 4;
        expect(printed[i]!.bytes).toBe(header + frame.payload.length);
        expect(printed[i]!.title).toContain(`(opcode 0x${frame.opcode.toString(16)}`);
        expect(printed[i]!.detail[0]).toBe(shown(frame.payload.toString('utf8')));
      });
    } else {
      // REST: the reply body, whole, as one chunk.
      expect(
        lines.some((l) => l.title === 'body chunk' && wire.includes(l.detail[0]!.replace(/\\n/g, '\n'))),
      ).toBe(true);
    }
  }, 30_000);
});

describe('when the server dies or is down', () => {
  it('REST says it reached the server when the connection is cut mid-reply', async () => {
    const rest = ROWS[0]!;
    const { port } = await serve(rest, testConfig({ simTtftMs: 2_000 }));
    const tap = await new Tap(port).listen();
    const shell = pipeShell(rest.adapter(targetFor('rest', tap.port)));
    shell.send('a long answer, please');
    // The request is at the server (it counts a stream in flight); then the wire is cut.
    await until(
      () => /you › a long answer/.test(shell.text()) && tap.bytes('up') > 300,
      'the request to go out',
    );
    tap.cut();
    await until(() => /error \[/.test(shell.text()), 'the error');
    shell.end('/quit');
    await shell.done;
    expect(shell.text()).toMatch(
      /error \[unavailable\]: the server at http:\/\/127\.0\.0\.1:\d+ closed the connection before it answered \(it was reached; did it stop\?\)/,
    );
    expect(shell.text()).not.toMatch(/cannot reach/);
  });

  it('gRPC says the server is down, /reconnect reaches it once it is back, and the session is gone', async () => {
    const grpc = ROWS[4]!;
    const first = await serve(grpc);
    const shell = pipeShell(grpc.adapter(targetFor('grpc', first.port)));
    await until(() => /session [0-9a-f-]{36}/.test(shell.text()), 'the session');
    await first.server.close();
    shell.send('anyone there?');
    await until(() => /error \[unavailable\]/.test(shell.text()), 'the down error');
    expect(shell.text()).toMatch(
      /error \[unavailable\]: cannot reach 127\.0\.0\.1:\d+: is the server running\?.*\/reconnect tries again now/,
    );
    expect(shell.text(), shell.text()).not.toMatch(/Resolution note/);
    await serve(grpc, testConfig(), first.port);
    shell.send('/reconnect');
    await until(
      () => /connected to 127\.0\.0\.1:\d+ in [\d.]+ ms \(a new channel\)/.test(shell.text()),
      '/reconnect',
    );
    shell.send('back?');
    await until(() => /is gone/.test(shell.text()), 'the session-gone notice');
    shell.end('/new\nhello');
    await shell.done;
    expect(shell.text()).toMatch(/model › Turn 1: you said "hello"/);
  }, 30_000);
});

/** `pnpm client <protocol> …` as pnpm runs it (node --import tsx scripts/run.ts client …). */
function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'scripts', 'run.ts'), 'client', ...args],
      {
        cwd: ROOT,
        env: { ...process.env, SERVER_URL: '', AUTH_TOKEN: '' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => {
      stdout += c;
    });
    child.stderr.on('data', (c) => {
      stderr += c;
    });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('the client command line', () => {
  it('an unknown flag is one line and exit 2; --url without a scheme says it needs one; --help exits 0', async () => {
    // Every client.ts parses its flags with core's runClient; two clients cover the HTTP and gRPC targets.
    const protocols: Protocol[] = ['rest', 'grpc'];
    const [unknown, noScheme, help, generalHelp] = await Promise.all([
      Promise.all(protocols.map((p) => runCli([p, '--bogus']))),
      runCli(['sse', '--url', '127.0.0.1:8003']),
      runCli(['grpc', '--help']),
      runCli(['--help']),
    ]);
    unknown.forEach((run, i) => {
      expect(run.code, protocols[i]).toBe(2);
      expect(run.stderr.trim().split('\n'), protocols[i]).toEqual([
        `Unknown option '--bogus' (pnpm client ${protocols[i]} --help lists the options)`,
      ]);
    });
    expect(noScheme.code).toBe(2);
    expect(noScheme.stderr.trim()).toBe(
      '--url 127.0.0.1:8003 is not a URL; it needs a scheme, e.g. http://127.0.0.1:8003',
    );
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('usage: pnpm client grpc [options]');
    expect(help.stdout).toMatch(/--trace/);
    expect(help.stdout).toMatch(/NO_COLOR/);
    expect(generalHelp.code).toBe(0);
    expect(generalHelp.stdout).toMatch(/usage: pnpm client <protocol> \[options\]/);
    for (const p of protocols) expect(generalHelp.stdout).toContain(p);
  }, 150_000);
});
