/**
 * The proxy between a real client socket and a real server on loopback: the outcome of each
 * effect, bounded generously (these are outcome checks, not timings).
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type NetworkProfile,
  type NetworkProxy,
  PROFILES,
  startProxy,
  withConditions,
} from '../src/index.ts';

const servers: net.Server[] = [];
const proxies: NetworkProxy[] = [];
afterEach(async () => {
  await Promise.all(proxies.splice(0).map((p) => p.close()));
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function serve(onSocket: (socket: net.Socket) => void): Promise<number> {
  const server = net.createServer((socket) => {
    socket.on('error', () => undefined); // the proxy resets its upstream when a test ends
    onSocket(socket);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as net.AddressInfo).port;
}

async function through(profile: NetworkProfile, port: number): Promise<NetworkProxy> {
  const proxy = await startProxy({ target: { port }, profile });
  proxies.push(proxy);
  return proxy;
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Collect everything until the socket closes; the error, if any. */
function drain(socket: net.Socket): Promise<{ bytes: number; error?: string }> {
  return new Promise((resolve) => {
    let bytes = 0;
    let error: string | undefined;
    socket.on('data', (d: Buffer) => (bytes += d.length));
    socket.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
    socket.on('close', () => resolve({ bytes, error }));
  });
}

const echo = (socket: net.Socket) => socket.pipe(socket);

describe('NetworkProxy', () => {
  it('adds the round trip of the profile to an echo, and the handshake to the first one', async () => {
    const port = await serve(echo);
    const proxy = await through(
      { ...PROFILES['3g'], up: { ...PROFILES['3g'].up, bitsPerSecond: null } },
      port,
    );
    const opened = performance.now();
    const socket = await connect(proxy.port);
    const rtts: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t0 = i === 0 ? opened : performance.now();
      socket.write(`ping ${i}`);
      await new Promise((r) => socket.once('data', r));
      rtts.push(performance.now() - t0);
    }
    socket.destroy();
    // 300 ms RTT; the first (timed from connect()) pays the 300 ms handshake too.
    expect(rtts[0]).toBeGreaterThanOrEqual(590);
    expect(rtts[1]).toBeGreaterThanOrEqual(295);
    expect(rtts[2]).toBeGreaterThanOrEqual(295);
    for (const rtt of rtts) expect(rtt).toBeLessThan(5_000);
    expect(proxy.stats()).toMatchObject({ connections: 1, roundTrips: 4 });
  });

  it('honours the bandwidth: 200 kB down at 1.6 Mbit/s takes about a second', async () => {
    const port = await serve((socket) => socket.end(Buffer.alloc(200_000, 7)));
    const proxy = await through(PROFILES['3g'], port);
    const t0 = performance.now();
    const { bytes, error } = await drain(await connect(proxy.port));
    const elapsedMs = performance.now() - t0;
    expect(error).toBeUndefined();
    expect(bytes).toBe(200_000);
    // (200,000 − 16,384 burst) B at 200,000 B/s ≥ 918 ms, plus the handshake and one-way latency.
    expect(elapsedMs).toBeGreaterThanOrEqual(900);
    expect(elapsedMs).toBeLessThan(15_000);
  });

  it('cuts a connection after N bytes down: the client gets exactly N and a reset', async () => {
    const port = await serve((socket) => {
      socket.on('error', () => undefined);
      socket.write(Buffer.alloc(50_000, 1));
    });
    const proxy = await through(withConditions(PROFILES.loopback, { cutAfterBytesDown: 1234 }), port);
    const { bytes, error } = await drain(await connect(proxy.port));
    expect(bytes).toBe(1234);
    expect(error).toBe('ECONNRESET');
    expect(proxy.stats().cut).toBe(1);
  });

  it('closes an idle connection after the idle time-out; cutAll() resets the busy ones', async () => {
    const port = await serve((socket) => socket.on('error', () => undefined));
    const proxy = await through(withConditions(PROFILES.loopback, { idleTimeoutMs: 200 }), port);
    const t0 = performance.now();
    const idle = await drain(await connect(proxy.port));
    expect(performance.now() - t0).toBeGreaterThanOrEqual(190);
    expect(idle.error).toBe('ECONNRESET');
    expect(proxy.stats().idleClosed).toBe(1);

    const busy = await connect(proxy.port);
    const done = drain(busy);
    const ticker = setInterval(() => busy.write('x'), 50);
    await new Promise((r) => setTimeout(r, 500));
    expect(busy.destroyed).toBe(false);
    expect(proxy.cutAll()).toBe(1);
    clearInterval(ticker);
    expect((await done).error).toBe('ECONNRESET');
    expect(proxy.stats()).toMatchObject({ idleClosed: 1, cut: 1, connections: 2 });
  });

  it('lossy-4g: stalls happen, and every byte still arrives in order', async () => {
    const port = await serve(echo);
    let i = 0;
    const proxy = await startProxy({
      target: { port },
      profile: PROFILES['lossy-4g'],
      random: () => (i++ % 10 === 0 ? 0 : 0.5), // one chunk in ten is a "lost segment"
    });
    proxies.push(proxy);
    const socket = await connect(proxy.port);
    let received = '';
    socket.on('data', (d: Buffer) => (received += d.toString()));
    const sent = Array.from({ length: 20 }, (_, k) => `${k};`).join('');
    for (let k = 0; k < 20; k++) {
      socket.write(`${k};`);
      await new Promise((r) => setTimeout(r, 5));
    }
    await new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (received.length >= sent.length) {
          clearInterval(check);
          resolve();
        }
      }, 20);
    });
    socket.destroy();
    expect(received).toBe(sent);
    expect(proxy.stats().stalls).toBeGreaterThan(0);
  });
});
