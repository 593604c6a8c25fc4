/**
 * Issue 16 against a real redis-server (packages/core/src/testing/redis-server.ts):
 * - the Redis store lists a principal's sessions a page at a time from its own index, without
 *   reading a history (MONITOR shows no command on a `messages` key), and drops the index
 *   entries of sessions deleted or expired meanwhile;
 * - `addMember` invites a principal: the session shows in their pages and names them a member;
 * - with REDIS_URL two server instances count one client address in one shared budget, and
 *   while Redis is away each counts in memory (the limit neither blocks everyone nor lifts).
 */
import { connectRedisClient, type RedisClient, RedisSessionStore } from '@gtp/core/redis';
import { RedisServer, redisAvailable, testConfig } from '@gtp/core/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HttpJson } from '../src/http.ts';
import { eventually, type Running, target } from '../src/targets.ts';

/** The listing order: by createdAt (ms), and sessions made in the same millisecond by id. */
const oldestFirst = (records: { id: string; createdAt: string }[]) =>
  records
    .map((r) => ({ key: `${r.createdAt}|${r.id}`, id: r.id }))
    .sort((a, b) => (a.key < b.key ? -1 : 1))
    .map((r) => r.id);

describe.skipIf(!redisAvailable)('Redis: sessions by principal, shared rate limits', () => {
  let redis: RedisServer;
  let admin: RedisClient;
  let prefixes = 0;
  /** A key prefix of its own per test, so the tests do not see each other's keys. */
  const freshPrefix = () => `sec${++prefixes}:`;

  beforeAll(async () => {
    redis = await RedisServer.start();
    admin = await connectRedisClient({ url: redis.url });
  });
  afterAll(async () => {
    admin?.destroy();
    await redis?.stop();
  });

  describe('RedisSessionStore.page and addMember', () => {
    const stores: RedisSessionStore[] = [];
    afterEach(async () => {
      await Promise.allSettled(stores.splice(0).map((s) => s.close()));
    });
    const open = async (keyPrefix: string, ttlMs?: number) => {
      const store = await RedisSessionStore.connect({
        url: redis.url,
        keyPrefix,
        ...(ttlMs !== undefined ? { ttlMs } : {}),
      });
      stores.push(store);
      return store;
    };

    it("pages through one principal's sessions, oldest first, never another's, loading no history", async () => {
      const prefix = freshPrefix();
      const store = await open(prefix);
      const created: { id: string; createdAt: string }[] = [];
      for (let i = 0; i < 5; i++) {
        const record = await store.create('alice');
        created.push(record);
        await store.appendTurn(record.id, { role: 'user', text: `question ${i}` });
      }
      const alice = oldestFirst(created);
      const bobs = await store.create('bob');

      const seen: string[][] = [];
      const commands: string[][] = [];
      const monitor = admin.duplicate();
      await monitor.connect();
      try {
        // Each line: `<time> [<db> <client>] "COMMAND" "arg" ...`.
        await monitor.monitor((line) => {
          commands.push([...String(line).matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!));
        });
        let cursor: string | undefined;
        for (;;) {
          const page = await store.page('alice', { limit: 2, cursor });
          seen.push(page.sessions.map((s) => s.id));
          for (const s of page.sessions) expect(s.messageCount).toBe(1);
          if (!page.nextCursor) break;
          cursor = page.nextCursor;
        }
        // MONITOR lines arrive on their own: wait for a marker sent after the listing.
        await admin.echo('end-of-listing');
        await eventually(
          async () => commands.some((args) => args[1] === 'end-of-listing'),
          (seenMarker) => seenMarker,
        );
      } finally {
        monitor.destroy();
      }
      expect(seen.map((p) => p.length)).toEqual([2, 2, 1]);
      expect(seen.flat()).toEqual(alice); // oldest first, each once
      expect(seen.flat()).not.toContain(bobs.id);
      expect((await store.page('bob', { limit: 10 })).sessions.map((s) => s.id)).toEqual([bobs.id]);
      expect((await store.page('carol', { limit: 10 })).sessions).toEqual([]);

      // What the listing sent: the principal's index and the sessions' hashes, never a history.
      const touched = commands.flatMap((args) => args.filter((a) => a.startsWith(prefix)));
      expect(touched.some((key) => key === `${prefix}principal:alice`)).toBe(true);
      expect(
        touched.filter((key) => key.startsWith(`${prefix}messages:`) && !isLengthOnly(commands, key)),
      ).toEqual([]);
      expect(commands.some((args) => /^(LRANGE|EVALSHA|EVAL)$/i.test(args[0] ?? ''))).toBe(false);
    });

    it('drops the index entries of deleted and expired sessions, and still fills the page', async () => {
      const prefix = freshPrefix();
      const store = await open(prefix);
      const shortLived = await open(prefix, 300); // same keys, sessions that expire in 300 ms
      const kept = [await store.create('alice'), await store.create('alice')];
      const deleted = await store.create('alice');
      const expiring = await shortLived.create('alice');
      const last = await store.create('alice');
      await store.delete(deleted.id);
      // Wait for Redis itself to expire the short-lived session's hash.
      await eventually(
        () => admin.exists(`${prefix}session:${expiring.id}`),
        (n) => n === 0,
      );
      const index = `${prefix}principal:alice`;
      expect(await admin.zCard(index)).toBe(5); // the stale entries are still in the index

      const first = await store.page('alice', { limit: 3 });
      expect(first.sessions.map((s) => s.id)).toEqual(oldestFirst([...kept, last]));
      expect(first.nextCursor).toBeUndefined();
      // The listing removed what it met that no longer exists.
      const entries = await admin.zRange(index, 0, -1);
      expect(entries).toHaveLength(3);
      expect(entries.join(' ')).not.toContain(deleted.id);
      expect(entries.join(' ')).not.toContain(expiring.id);

      // A page that ends on a stale entry: the cursor skips past it, no session twice or lost.
      const a = await store.page('alice', { limit: 1 });
      const b = await store.page('alice', { limit: 1, cursor: a.nextCursor });
      const c = await store.page('alice', { limit: 1, cursor: b.nextCursor });
      expect([a, b, c].flatMap((p) => p.sessions.map((s) => s.id))).toEqual(first.sessions.map((s) => s.id));
      expect(c.nextCursor).toBeUndefined();
    });

    it("addMember invites a principal: it shows in the member's pages and in the record", async () => {
      const prefix = freshPrefix();
      const store = await open(prefix);
      const shared = await store.create('alice');
      await store.create('alice'); // not shared
      const bobsOwn = await store.create('bob');
      expect(await store.addMember(shared.id, 'bob')).toBe(true);
      expect(await store.addMember(shared.id, 'bob')).toBe(true); // idempotent
      const record = await store.get(shared.id);
      expect(record?.owner).toBe('alice');
      expect(record?.members).toEqual(['bob']);
      const bobs = await store.page('bob', { limit: 10 });
      expect(bobs.sessions.map((s) => s.id).sort()).toEqual([shared.id, bobsOwn.id].sort());
      // Unknown or deleted sessions: false, and nothing is indexed for them.
      expect(await store.addMember('00000000-0000-4000-8000-000000000000', 'carol')).toBe(false);
      await store.delete(shared.id);
      expect(await store.addMember(shared.id, 'carol')).toBe(false);
      expect(await admin.exists(`${prefix}principal:carol`)).toBe(0);
      expect((await store.page('bob', { limit: 10 })).sessions.map((s) => s.id)).toEqual([bobsOwn.id]);
    });
  });

  describe('RATE_LIMIT_MAX through Redis (REDIS_URL)', () => {
    const MAX = 4;
    const runs: Running[] = [];
    afterEach(async () => {
      await Promise.allSettled(runs.splice(0).map((r) => r.close()));
    });

    it('two instances share one budget for one client address; while Redis is away each counts in memory', {
      timeout: 60_000,
    }, async () => {
      const own = await RedisServer.start(); // stopped by this test
      try {
        const config = testConfig({ redisUrl: own.url, rateLimitMax: MAX, rateLimitWindowMs: 60_000 });
        const one = await target('rest').start({ config });
        runs.push(one);
        const two = await target('rest').start({ config });
        runs.push(two);
        const apiOne = new HttpJson(one.url);
        const apiTwo = new HttpJson(two.url);
        try {
          const statuses: number[] = [];
          // Alternate between the instances: one budget of MAX for both together.
          for (let i = 0; i < MAX + 2; i++) {
            statuses.push((await (i % 2 ? apiTwo : apiOne).call('GET', '/sessions')).status);
          }
          expect(statuses).toEqual([...Array(MAX).fill(200), 429, 429]);
          const key = (await connectRedisKeys(own.url)).filter((k) => k.startsWith('gtp:ratelimit:http'));
          expect(key).toHaveLength(1); // one counter, one address

          // Redis goes away: the instance counts in memory, with a fresh budget of MAX. Its
          // requests are answered (503: the sessions are in Redis too), then refused again.
          await own.stop();
          const away: number[] = [];
          for (let i = 0; i < MAX + 2; i++) away.push((await apiOne.call('GET', '/sessions')).status);
          expect(away.slice(0, MAX).every((s) => s !== 429)).toBe(true);
          expect(away.slice(MAX)).toEqual([429, 429]);
        } finally {
          await apiOne.close();
          await apiTwo.close();
        }
      } finally {
        await own.stop();
      }
    });
  });
});

/** True when every command naming `key` only asked for its length (LLEN). */
function isLengthOnly(commands: string[][], key: string): boolean {
  return commands.filter((args) => args.includes(key)).every((args) => args[0]?.toUpperCase() === 'LLEN');
}

async function connectRedisKeys(url: string): Promise<string[]> {
  const client = await connectRedisClient({ url });
  try {
    return await client.keys('*');
  } finally {
    client.destroy();
  }
}
