/** A raw `ws` client for tests: records every server frame and waits for the ones it needs. */
import WebSocket, { type ClientOptions } from 'ws';
import type { ServerFrame } from '../src/protocol.ts';

type FrameOf<T extends ServerFrame['type']> = Extract<ServerFrame, { type: T }>;

export class TestClient {
  readonly ws: WebSocket;
  /** Every frame received, in order. */
  readonly frames: ServerFrame[] = [];
  /** Resolves with the close code and reason. */
  readonly closed: Promise<{ code: number; reason: string }>;
  /** Frames not yet taken by `next()`. */
  readonly #unread: ServerFrame[] = [];
  #wake: (() => void) | undefined;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as ServerFrame;
      this.frames.push(frame);
      this.#unread.push(frame);
      this.#wake?.();
    });
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        resolve({ code, reason: reason.toString() });
        this.#wake?.();
      });
    });
    ws.on('error', () => undefined);
  }

  static async connect(
    baseUrl: string,
    options: ClientOptions = {},
    protocols: string[] = [],
  ): Promise<TestClient> {
    const ws = new WebSocket(wsUrl(baseUrl), protocols, options);
    const client = new TestClient(ws);
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    return client;
  }

  /** Send a frame (an object is JSON-encoded; a string is sent as is). */
  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** Take the first unread frame of this type that matches. Rejects if the connection closes first. */
  async next<T extends ServerFrame['type']>(
    type: T,
    where: (frame: FrameOf<T>) => boolean = () => true,
  ): Promise<FrameOf<T>> {
    return (await this.take((f) => f.type === type && where(f as FrameOf<T>))) as FrameOf<T>;
  }

  async take(matches: (frame: ServerFrame) => boolean): Promise<ServerFrame> {
    for (;;) {
      const index = this.#unread.findIndex(matches);
      if (index >= 0) return this.#unread.splice(index, 1)[0]!;
      if (this.ws.readyState === WebSocket.CLOSED) {
        throw new Error(`closed while waiting; unread: ${JSON.stringify(this.#unread).slice(0, 500)}`);
      }
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
  }

  /** Join (or create) a session; resolves with the joined frame. */
  async join(sessionId?: string): Promise<FrameOf<'joined'>> {
    this.send(sessionId ? { type: 'join', sessionId } : { type: 'join' });
    return this.next('joined');
  }

  /** Round trip: everything the server sent this connection before its pong has arrived. */
  async sync(): Promise<void> {
    const ts = Math.random();
    this.send({ type: 'ping', ts });
    await this.next('pong', (f) => f.ts === ts);
  }

  /**
   * The rest of one reply, after its `start` was taken: its text and its final frame (done or
   * error). A delta carries no messageId: the deltas after the start are the reply's.
   */
  async reply(
    messageId: string,
  ): Promise<{ text: string; deltas: number; end: FrameOf<'done'> | FrameOf<'error'> }> {
    let text = '';
    let deltas = 0;
    for (;;) {
      const frame = await this.take(
        (f) => f.type === 'delta' || ((f.type === 'done' || f.type === 'error') && f.messageId === messageId),
      );
      if (frame.type === 'delta') {
        text += frame.text;
        deltas += 1;
      } else if (frame.type === 'done' || frame.type === 'error') return { text, deltas, end: frame };
    }
  }

  close(): void {
    if (this.ws.readyState !== WebSocket.CLOSED) this.ws.terminate();
  }
}

/** `http://host:port[/path][?query]` → `ws://host:port/ws[?query]` (a path in `baseUrl` replaces /ws). */
function wsUrl(baseUrl: string): string {
  const url = new URL(baseUrl);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  if (url.pathname === '/') url.pathname = '/ws';
  return url.href;
}

/** What the server answered to an upgrade it refused: the status, headers and JSON body. */
export interface Refusal {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: { error: { code: string; message: string } };
}

/** Try an upgrade that the server should refuse; rejects if it is accepted. */
export function refusedUpgrade(
  baseUrl: string,
  options: ClientOptions = {},
  protocols: string[] = [],
): Promise<Refusal> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl(baseUrl), protocols, options);
    ws.once('unexpected-response', (_request, response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        body += chunk;
      });
      response.on('end', () => {
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body: JSON.parse(body) });
        ws.terminate();
      });
    });
    ws.once('open', () => {
      ws.terminate();
      reject(new Error('the upgrade was accepted'));
    });
    ws.on('error', () => undefined);
  });
}
