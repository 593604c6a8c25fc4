/**
 * Sessions belong to principals, on all five transports: Alice's session does not exist for Bob
 * (`session_not_found` on every call that names it, never a hint), Bob's listing holds none of
 * Alice's sessions, a listing is paginated, and inviting Bob is an explicit act of the owner (a
 * share grant) after which he can read and write in it. Alice and Bob are JWTs (HS256, `sub`);
 * each transport's clients present them their own way (header, ?access_token=, the base64url
 * `bearer.` subprotocol, gRPC metadata).
 */
import { testConfig } from '@gtp/core/testing';
import { SignJWT } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import type { WireError } from '../src/events.ts';
import { GrpcClient } from '../src/grpc.ts';
import { HttpJson } from '../src/http.ts';
import { type Running, TARGETS } from '../src/targets.ts';

const JWT_SECRET = 'a-secret-of-at-least-32-bytes-for-hs256!';

const tokenOf = (sub: string) =>
  new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setExpirationTime('10m')
    .sign(new TextEncoder().encode(JWT_SECRET));
const ALICE = await tokenOf('alice');
const BOB = await tokenOf('bob');

interface Page {
  ids: string[];
  next?: string;
}

/** Listing and sharing, each transport's way (the WebSocket server's HTTP routes for it). */
interface Sessions {
  list(run: Running, token: string, page?: { limit?: number; cursor?: string }): Promise<Page>;
  share(run: Running, token: string, sessionId: string, principal: string): Promise<void>;
  remove(run: Running, token: string, sessionId: string): Promise<void>;
}

const http: Sessions = {
  async list(run, token, page = {}) {
    const api = new HttpJson(run.url, token);
    const query = new URLSearchParams({
      ...(page.limit ? { limit: String(page.limit) } : {}),
      ...(page.cursor ? { cursor: page.cursor } : {}),
    });
    try {
      const answer = await api.call('GET', `/sessions?${query}`);
      expect(answer.status).toBe(200);
      const body = answer.body as { sessions: { id: string }[]; nextCursor?: string };
      return { ids: body.sessions.map((s) => s.id), ...(body.nextCursor ? { next: body.nextCursor } : {}) };
    } finally {
      await api.close();
    }
  },
  async share(run, token, sessionId, principal) {
    const api = new HttpJson(run.url, token);
    try {
      const answer = await api.call('POST', `/sessions/${sessionId}/members`, { principal });
      if (answer.status !== 200) throw answer.body;
    } finally {
      await api.close();
    }
  },
  async remove(run, token, sessionId) {
    const api = new HttpJson(run.url, token);
    try {
      const answer = await api.call('DELETE', `/sessions/${sessionId}`);
      if (answer.status !== 204) throw answer.body;
    } finally {
      await api.close();
    }
  },
};

const grpcSessions: Sessions = {
  async list(run, token, page = {}) {
    const client = new GrpcClient(run.url, { token });
    try {
      const answer = await client.unary<{ sessions: { id: string }[]; nextPageToken: string }>(
        'ListSessions',
        {
          pageSize: page.limit ?? 0,
          pageToken: page.cursor ?? '',
        },
      );
      return {
        ids: answer.sessions.map((s) => s.id),
        ...(answer.nextPageToken ? { next: answer.nextPageToken } : {}),
      };
    } finally {
      client.close();
    }
  },
  async share(run, token, sessionId, principal) {
    const client = new GrpcClient(run.url, { token });
    try {
      await client.unary('ShareSession', { sessionId, principal });
    } catch (error) {
      throw { error: { code: (error as WireError).code } };
    } finally {
      client.close();
    }
  },
  async remove(run, token, sessionId) {
    const client = new GrpcClient(run.url, { token });
    try {
      await client.unary('DeleteSession', { sessionId });
    } catch (error) {
      throw { error: { code: (error as WireError).code } };
    } finally {
      client.close();
    }
  },
};

describe.each(TARGETS)('$protocol: sessions belong to principals', (t) => {
  const sessions = t.protocol === 'grpc' ? grpcSessions : http;
  let run: Running | undefined;
  afterEach(async () => {
    await run?.close();
    run = undefined;
  });

  it("another principal gets session_not_found for every call and sees none of the owner's sessions", async () => {
    run = await t.start({ config: testConfig({ jwtSecret: JWT_SECRET }) });
    const alice = run.client({ token: ALICE });
    const bob = run.client({ token: BOB });
    const id = await alice.createSession();
    const mine = await alice.reply(id, 'hello');
    expect((await mine.events.rest()).at(-1)).toMatchObject({ type: 'done' });

    await expect(bob.history(id)).rejects.toMatchObject({ code: 'session_not_found' });
    const theirs = await bob.reply(id, 'let me in');
    expect((await theirs.events.rest()).at(-1)).toMatchObject({
      type: 'error',
      error: { code: 'session_not_found' },
    });
    await expect(sessions.remove(run, BOB, id)).rejects.toMatchObject({
      error: { code: 'session_not_found' },
    });
    await expect(sessions.share(run, BOB, id, 'bob')).rejects.toMatchObject({
      error: { code: 'session_not_found' },
    });
    expect((await sessions.list(run, BOB)).ids).toEqual([]);
    expect((await sessions.list(run, ALICE)).ids).toEqual([id]);
    // Bob's attempts changed nothing: the owner's history is her one turn.
    expect((await alice.history(id)).map((m) => m.role)).toEqual(['user', 'model']);
  });

  it('the owner invites another principal explicitly; then he reads and writes in it', async () => {
    run = await t.start({ config: testConfig({ jwtSecret: JWT_SECRET }) });
    const alice = run.client({ token: ALICE });
    const bob = run.client({ token: BOB });
    const id = await alice.createSession();
    await sessions.share(run, ALICE, id, 'bob');
    expect((await sessions.list(run, BOB)).ids).toEqual([id]);
    const his = await bob.reply(id, 'thanks for the invite');
    expect((await his.events.rest()).at(-1)).toMatchObject({ type: 'done' });
    expect((await alice.history(id)).map((m) => m.text)[0]).toBe('thanks for the invite');
    // A member may not delete the owner's session or invite others.
    await expect(sessions.remove(run, BOB, id)).rejects.toMatchObject({ error: { code: 'forbidden' } });
    await expect(sessions.share(run, BOB, id, 'carol')).rejects.toMatchObject({
      error: { code: 'forbidden' },
    });
  });

  it('lists a page at a time, without a session twice', async () => {
    run = await t.start({ config: testConfig({ jwtSecret: JWT_SECRET }) });
    const alice = run.client({ token: ALICE });
    const created = [await alice.createSession(), await alice.createSession(), await alice.createSession()];
    const first = await sessions.list(run, ALICE, { limit: 2 });
    expect(first.ids).toHaveLength(2);
    expect(first.next).toBeTruthy();
    const second = await sessions.list(run, ALICE, { limit: 2, cursor: first.next! });
    expect(second.ids).toHaveLength(1);
    expect(second.next).toBeUndefined();
    expect([...first.ids, ...second.ids].sort()).toEqual([...created].sort());
  });
});
