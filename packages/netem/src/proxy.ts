/**
 * The network-conditions proxy: a TCP proxy on loopback between a client and its server. Each
 * accepted connection gets a fresh chain of effects per direction, built from the profile:
 *
 *   client ──▶ [flights] [idle] [handshake] [cut] [bandwidth] [stall] [latency] ──▶ server
 *   client ◀── [flights] [latency] [stall] [bandwidth] [cut] [handshake] [idle] ◀── server
 *
 * This emulates a network in user space, per TCP connection: it is not the kernel's netem and
 * does not model packets, windows or congestion control; bytes are delayed, paced and held in
 * order, which is what an application on top of TCP observes.
 */
import net from 'node:net';
import { pipeline, Transform, type TransformCallback } from 'node:stream';
import { Bandwidth } from './bandwidth.ts';
import { Cut } from './cut.ts';
import { FlightCounter } from './flights.ts';
import { IdleTimer } from './idle.ts';
import { Handshake, Latency } from './latency.ts';
import type { DirectionProfile, NetworkProfile } from './profiles.ts';
import { Stall } from './stall.ts';

export interface ProxyStats {
  /** Connections accepted so far. */
  connections: number;
  /** Round trips seen by the client: handshakes plus up → down changes, summed over connections. */
  roundTrips: number;
  bytesUp: number;
  bytesDown: number;
  /** Connections ended by each effect. */
  idleClosed: number;
  cut: number;
  stalls: number;
}

export interface ProxyOptions {
  /** Where the server listens. */
  target: { host?: string; port: number };
  profile: NetworkProfile;
  /** A source of numbers in [0, 1) for jitter and stalls. */
  random?: () => number;
}

interface Connection {
  client: net.Socket;
  upstream: net.Socket;
  flights: FlightCounter;
  stalls: Stall[];
  idle: IdleTimer | undefined;
  /** Set when the proxy resets the connection: from then on the gates pass nothing. */
  resetting: boolean;
}

/** After a reset is decided, how long the bytes already written get to reach the peer, ms. */
const RESET_GRACE_MS = 20;

/** The last hop before a socket: drops everything once the connection is being reset. */
function gate(connection: Connection): Transform {
  return new PassThroughGate(connection);
}

class PassThroughGate extends Transform {
  readonly #connection: Connection;
  constructor(connection: Connection) {
    super();
    this.#connection = connection;
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    callback(null, this.#connection.resetting ? undefined : chunk);
  }
}

export class NetworkProxy {
  readonly #server: net.Server;
  readonly #options: ProxyOptions;
  readonly #live = new Set<Connection>();
  readonly #stats: ProxyStats = {
    connections: 0,
    roundTrips: 0,
    bytesUp: 0,
    bytesDown: 0,
    idleClosed: 0,
    cut: 0,
    stalls: 0,
  };
  /** Totals of connections that are gone. */
  readonly #done = { roundTrips: 0, bytesUp: 0, bytesDown: 0, stalls: 0 };
  #port = 0;

  constructor(options: ProxyOptions) {
    this.#options = options;
    this.#server = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => this.#accept(socket));
  }

  get profile(): NetworkProfile {
    return this.#options.profile;
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(0, '127.0.0.1', () => resolve());
    });
    this.#port = (this.#server.address() as net.AddressInfo).port;
    return this.#port;
  }

  get port(): number {
    return this.#port;
  }

  stats(): ProxyStats {
    const live = [...this.#live];
    return {
      ...this.#stats,
      roundTrips: this.#done.roundTrips + live.reduce((n, c) => n + c.flights.roundTrips, 0),
      bytesUp: this.#done.bytesUp + live.reduce((n, c) => n + c.flights.bytesUp, 0),
      bytesDown: this.#done.bytesDown + live.reduce((n, c) => n + c.flights.bytesDown, 0),
      stalls: this.#done.stalls + live.reduce((n, c) => n + c.stalls.reduce((s, x) => s + x.stalls, 0), 0),
    };
  }

  /** Open connections right now. */
  get openConnections(): number {
    return this.#live.size;
  }

  /** Reset every open connection now (a dropped link), as the harness's "cut mid-reply". */
  cutAll(): number {
    const n = this.#live.size;
    for (const c of this.#live) this.#reset(c, 'cut');
    return n;
  }

  async close(): Promise<void> {
    for (const c of this.#live) this.#reset(c);
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(client: net.Socket): void {
    const { profile, target, random } = this.#options;
    this.#stats.connections += 1;
    const upstream = net.connect({
      host: target.host ?? '127.0.0.1',
      port: target.port,
      allowHalfOpen: true,
      noDelay: true,
    });
    const flights = new FlightCounter();
    if (profile.handshakeMs > 0) flights.roundTrips += 1;
    const idle = profile.idleTimeoutMs === null ? undefined : new IdleTimer(profile.idleTimeoutMs);
    const connection: Connection = { client, upstream, flights, stalls: [], idle, resetting: false };
    this.#live.add(connection);
    idle?.once('idle', () => this.#reset(connection, 'idle'));

    const chain = (d: DirectionProfile): Transform[] => {
      const effects: Transform[] = [];
      if (profile.handshakeMs > 0) effects.push(new Handshake(profile.handshakeMs));
      if (d.cutAfterBytes !== null || profile.cutAfterMs !== null) {
        const cut = new Cut({
          afterBytes: d.cutAfterBytes ?? undefined,
          afterMs: profile.cutAfterMs ?? undefined,
        });
        cut.once('cut', () => this.#reset(connection, 'cut'));
        effects.push(cut);
      }
      if (d.bitsPerSecond !== null) effects.push(new Bandwidth({ bitsPerSecond: d.bitsPerSecond }));
      if (d.stall) {
        const stall = new Stall({ ...d.stall, random });
        connection.stalls.push(stall);
        effects.push(stall);
      }
      if (d.latencyMs > 0 || d.jitterMs > 0) {
        effects.push(new Latency({ latencyMs: d.latencyMs, jitterMs: d.jitterMs, random }));
      }
      return effects;
    };

    const up = [flights.tap('up'), ...(idle ? [idle.tap()] : []), ...chain(profile.up), gate(connection)];
    const down = [
      ...(idle ? [idle.tap()] : []),
      ...chain(profile.down),
      gate(connection),
      flights.tap('down'),
    ];
    const onEnd = (error?: Error | null) => {
      if (error) this.#reset(connection);
    };
    pipeline([client, ...up, upstream], onEnd);
    pipeline([upstream, ...down, client], onEnd);
    let closed = 0;
    const onClose = () => {
      closed += 1;
      if (closed === 2) this.#finish(connection);
    };
    client.once('close', onClose);
    upstream.once('close', onClose);
  }

  #reset(connection: Connection, why?: 'idle' | 'cut'): void {
    if (connection.resetting) return;
    connection.resetting = true;
    if (why === 'idle') this.#stats.idleClosed += 1;
    if (why === 'cut') this.#stats.cut += 1;
    for (const socket of [connection.client, connection.upstream]) {
      if (socket.destroyed) continue;
      if (socket.connecting || socket.readyState === 'closed') {
        socket.destroy();
        continue;
      }
      // A reset, not a FIN: the peer sees ECONNRESET, as after a dropped link or a proxy restart.
      // The bytes already written are let through first (they crossed before the link died):
      // a reset that overtakes them makes the kernel drop them from the peer's receive queue.
      socket.write(Buffer.alloc(0), () => setTimeout(() => socket.resetAndDestroy(), RESET_GRACE_MS));
      setTimeout(() => socket.destroyed || socket.resetAndDestroy(), RESET_GRACE_MS * 4).unref();
    }
    this.#finish(connection);
  }

  #finish(connection: Connection): void {
    if (!this.#live.delete(connection)) return;
    connection.idle?.stop();
    this.#done.roundTrips += connection.flights.roundTrips;
    this.#done.bytesUp += connection.flights.bytesUp;
    this.#done.bytesDown += connection.flights.bytesDown;
    this.#done.stalls += connection.stalls.reduce((s, x) => s + x.stalls, 0);
  }
}

/** Start a proxy in front of `target` with `profile`; returns it listening. */
export async function startProxy(options: ProxyOptions): Promise<NetworkProxy> {
  const proxy = new NetworkProxy(options);
  await proxy.listen();
  return proxy;
}
