/**
 * The Redis side of the "listener fell behind past the log bound" end-to-end tests (issue 17),
 * shared by the transports' tests (imported by path, like resume-harness.ts): a model that says
 * one word, then a burst far past the bound on cue, and a TCP hop to Redis whose answers can be
 * held back, so one instance's reader falls behind while another instance streams the reply.
 */
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeAll } from 'vitest';
import type { ModelProvider } from '../src/index.ts';
import { connectRedisClient, type RedisClient } from '../src/redis.ts';
import { RedisServer } from '../src/testing/index.ts';

/** Deltas after the gate: many times the log's bound, so Redis trims whole blocks of them. */
export const BURST = 400;
export const WORDS = Array.from({ length: BURST + 1 }, (_, i) => `w${i} `);

export async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(20);
  }
}

/** A model that says its first word, then waits for `open()`, then says the rest at once. */
export function gatedModel(): { model: ModelProvider; open(): void } {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const model: ModelProvider = {
    info: { provider: 'simulated', id: 'first-word-then-a-burst' },
    async *stream() {
      yield WORDS[0]!;
      await gate;
      for (const word of WORDS.slice(1)) yield word;
      return { finishReason: 'stop', usage: { inputTokens: 1, outputTokens: WORDS.length } };
    },
  };
  return { model, open };
}

/** A TCP hop to Redis whose answers can be held (`hold`) and let through in order (`release`). */
export async function redisGate(port: number) {
  const sockets = new Set<net.Socket>();
  const heldChunks: [net.Socket, Buffer][] = [];
  let held = false;
  const server = net.createServer((client) => {
    const upstream = net.connect({ host: '127.0.0.1', port });
    sockets.add(client).add(upstream);
    client.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => (held ? heldChunks.push([client, chunk]) : client.write(chunk)));
    const drop = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `redis://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    hold() {
      held = true;
    },
    release() {
      held = false;
      for (const [client, chunk] of heldChunks.splice(0)) if (!client.destroyed) client.write(chunk);
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/**
 * Until session `sessionId`'s log stream (default key prefix) ends with a `done` and was trimmed
 * past its first `past` events: a reader still at its start has a gap to find.
 */
export function trimmedPast(admin: RedisClient, key: string, past: number): Promise<void> {
  return until(async () => {
    const kept = (await admin.xRange(key, '-', '+')) ?? [];
    return kept.at(-1)?.message.type === 'done' && Number.parseInt(kept[0]!.id, 10) > past;
  }, 'the reply in Redis, trimmed past the lagging reader');
}

/**
 * The file's redis-server and an admin client on it (read them in a test: `redis()`, `admin()`),
 * and the test's cleanups, run after each test, last first.
 */
export function useRedis(): {
  redis: () => RedisServer;
  admin: () => RedisClient;
  cleanups: (() => Promise<unknown>)[];
} {
  let redis: RedisServer | undefined;
  let admin: RedisClient | undefined;
  const cleanups: (() => Promise<unknown>)[] = [];
  beforeAll(async () => {
    redis = await RedisServer.start();
    admin = await connectRedisClient({ url: redis.url });
    return async () => {
      admin?.destroy();
      await redis?.stop();
    };
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  });
  return { redis: () => redis!, admin: () => admin!, cleanups };
}
