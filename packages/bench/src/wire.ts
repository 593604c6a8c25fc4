/**
 * Bytes on the wire, counted at the socket: every TCP connection the process opens is seen
 * through the `net.client.socket` diagnostics channel (undici, ws and grpc-js all open theirs
 * with `net.connect`), and `socket.bytesRead` / `bytesWritten` are the TCP payload bytes it
 * received and sent: HTTP headers, chunked encoding, SSE/WebSocket/HTTP/2 framing included;
 * TCP/IP headers not. Sockets are grouped by the server port they connect to.
 */
import diagnostics from 'node:diagnostics_channel';
import type { Socket } from 'node:net';

export interface WireCount {
  /** Bytes the client received (server → client). */
  down: number;
  /** Bytes the client sent (client → server). */
  up: number;
}

export class WireMeter {
  readonly #byPort = new Map<number, Set<Socket>>();
  /** Bytes of sockets already forgotten (closed and pruned), per port. */
  readonly #closed = new Map<number, WireCount>();
  /**
   * Every socket taken, once: undici publishes a plaintext connection on `net.client.socket` and
   * again on `undici:client:connected`, and a socket counted twice would add its bytes twice to
   * `#closed` when it closes.
   */
  readonly #seen = new WeakSet<Socket>();
  readonly #onSocket = (message: unknown) => {
    const { socket } = message as { socket: Socket };
    if (this.#seen.has(socket)) return;
    this.#seen.add(socket);
    const attach = () => {
      const port = socket.remotePort;
      if (port === undefined) return;
      const set = this.#byPort.get(port) ?? new Set<Socket>();
      this.#byPort.set(port, set);
      set.add(socket);
      socket.once('close', () => {
        set.delete(socket);
        const closed = this.#closed.get(port) ?? { down: 0, up: 0 };
        closed.down += socket.bytesRead;
        closed.up += socket.bytesWritten;
        this.#closed.set(port, closed);
      });
    };
    if (socket.remotePort !== undefined) attach();
    else socket.once('connect', attach);
  };

  /** ws's upgrade request (https.request → tls.connect publishes no net.client.socket). */
  readonly #onRequest = (message: unknown) => {
    const { request } = message as {
      request: { socket: Socket | null; once(event: 'socket', f: (socket: Socket) => void): void };
    };
    const take = (socket: Socket) => {
      if ((socket as { encrypted?: boolean }).encrypted) this.#onSocket({ socket });
    };
    // With `createConnection` (ws does) the socket is there already when the channel publishes.
    if (request.socket) take(request.socket);
    else request.once('socket', take);
  };

  constructor() {
    diagnostics.subscribe('net.client.socket', this.#onSocket);
    // Over TLS, undici's tls.connect and ws's https.request publish no net.client.socket: take
    // their TLS sockets from undici's own channel and from node:http's (bytesRead/bytesWritten of
    // a TLSSocket count the encrypted bytes, handshake included).
    diagnostics.subscribe('undici:client:connected', this.#onSocket);
    diagnostics.subscribe('http.client.request.start', this.#onRequest);
  }

  /** Total bytes so far on connections to this port, open and closed. */
  count(port: number): WireCount {
    const total = { ...(this.#closed.get(port) ?? { down: 0, up: 0 }) };
    for (const socket of this.#byPort.get(port) ?? []) {
      total.down += socket.bytesRead;
      total.up += socket.bytesWritten;
    }
    return total;
  }

  /** Open connections to this port. */
  openSockets(port: number): number {
    return this.#byPort.get(port)?.size ?? 0;
  }

  close(): void {
    diagnostics.unsubscribe('net.client.socket', this.#onSocket);
    diagnostics.unsubscribe('undici:client:connected', this.#onSocket);
    diagnostics.unsubscribe('http.client.request.start', this.#onRequest);
  }
}

/** The port of a target: `http://127.0.0.1:8001` or `127.0.0.1:50051`. */
export function portOf(target: string): number {
  const match = /:(\d+)\/?$/.exec(target);
  if (!match) throw new Error(`no port in target ${target}`);
  return Number(match[1]);
}
