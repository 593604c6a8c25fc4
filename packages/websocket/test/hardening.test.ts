import type { ChatServer, Config } from '@gtp/core';
import { AddressRateLimit } from '@gtp/core';
import { testConfig } from '@gtp/core/testing';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketAdapter } from '../client.ts';
import { createServer } from '../server.ts';
import { CLOSE_CODES, WS_SUBPROTOCOL } from '../src/protocol.ts';
import { refusedUpgrade, TestClient } from './ws-test-client.ts';

const TOKEN = 'test-token-0123456789';
const servers: ChatServer[] = [];
const clients: TestClient[] = [];
const adapters: WebSocketAdapter[] = [];

async function start(overrides: Partial<Config>) {
  const server = await createServer({ config: testConfig(overrides) });
  servers.push(server);
  return { server, url: await server.listen({ port: 0 }) };
}

async function connect(...args: Parameters<typeof TestClient.connect>) {
  const client = await TestClient.connect(...args);
  clients.push(client);
  return client;
}

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await Promise.all(adapters.splice(0).map((a) => a.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe('AUTH_TOKEN on the upgrade', () => {
  it('refuses a missing or wrong token with a real 401 before upgrading', async () => {
    const { server, url } = await start({ authToken: TOKEN });

    const missing = await refusedUpgrade(url);
    expect(missing.status).toBe(401);
    expect(missing.headers['www-authenticate']).toMatch(/^Bearer/);
    expect(missing.body.error.code).toBe('unauthorized');
    expect(missing.body.error.message).toMatch(/bearer\.<base64url of the token>/);

    const wrongHeader = await refusedUpgrade(url, { headers: { authorization: 'Bearer nope' } });
    expect(wrongHeader.status).toBe(401);
    const wrongProtocol = await refusedUpgrade(url, {}, [WS_SUBPROTOCOL, 'bearer.nope']);
    expect(wrongProtocol.status).toBe(401);
    expect((await server.chat.snapshot()).errors.byCode.unauthorized).toBe(3);

    // The health probe stays open; the other HTTP routes need the token too (core).
    expect((await request(`${url}/health`)).statusCode).toBe(200);
    expect((await request(`${url}/sessions`)).statusCode).toBe(401);
  });

  it('accepts the token as a header, as ?access_token= and as a bearer. subprotocol', async () => {
    const { url } = await start({ authToken: TOKEN });

    const header = await connect(url, { headers: { authorization: `Bearer ${TOKEN}` } });
    const { session } = await header.join();
    const query = await connect(`${url}/ws?access_token=${TOKEN}`);
    await query.join(session.id);

    // What a browser does: the real subprotocol and the token, offered side by side.
    const browserLike = await connect(url, {}, [WS_SUBPROTOCOL, `bearer.${TOKEN}`]);
    expect(browserLike.ws.protocol).toBe(WS_SUBPROTOCOL); // the answer never echoes the token
    await browserLike.join(session.id);
    await header.next('presence', (f) => f.connections === 3);

    // Offering only the token cannot work in a browser (no subprotocol to answer with): a 400 says why.
    const tokenOnly = await refusedUpgrade(url, {}, [`bearer.${TOKEN}`]);
    expect(tokenOnly.status).toBe(400);
    expect(tokenOnly.body.error.message).toContain(WS_SUBPROTOCOL);
  });

  it('the client adapter sends its token; without one it reports the refusal', async () => {
    const { url } = await start({ authToken: TOKEN });
    const withToken = new WebSocketAdapter(url, { token: TOKEN });
    const without = new WebSocketAdapter(url);
    adapters.push(withToken, without);

    const session = await withToken.createSession();
    await withToken.useSession(session.id);
    const events = [];
    for await (const event of withToken.send(session.id, 'authorised')) events.push(event);
    expect(events.at(-1)).toMatchObject({ type: 'done', finishReason: 'stop' });

    await expect(without.useSession(session.id)).rejects.toMatchObject({
      code: 'unauthorized',
      message: expect.stringMatching(/refused \(401\)/),
    });
  });
});

describe('Origin on the upgrade', () => {
  it('refuses a foreign origin with 403; a listed origin, the own origin and no origin pass', async () => {
    const { url } = await start({ allowedOrigins: ['https://chat.example.com'] });
    const foreign = await refusedUpgrade(url, { origin: 'https://evil.example.com' });
    expect(foreign.status).toBe(403);
    expect(foreign.body.error).toMatchObject({ code: 'forbidden', message: expect.stringMatching(/evil/) });

    const listed = await connect(url, { origin: 'https://chat.example.com' });
    await listed.sync();
    const own = await connect(url, { origin: url });
    await own.sync();
    const none = await connect(url);
    await none.sync();
  });
});

describe('frame rate limit per connection', () => {
  it('answers frames over the limit with rate_limited and keeps the connection; closes 1008 on sustained abuse', async () => {
    const { server, url } = await start({ rateLimitMax: 5, rateLimitWindowMs: 60_000 });
    const c = await connect(url);
    const other = await connect(url); // its own budget
    for (let ts = 1; ts <= 5; ts++) c.send({ type: 'ping', ts });
    for (let ts = 1; ts <= 5; ts++) await c.next('pong', (f) => f.ts === ts);

    for (let ts = 6; ts <= 8; ts++) c.send({ type: 'ping', ts });
    for (let i = 0; i < 3; i++) {
      const error = await c.next('error');
      expect(error.error.code).toBe('rate_limited');
      expect(error.error.message).toMatch(/more than 5 frames in 60 s on this connection/);
    }
    // Dropped, not queued: no pong for them. The connection is open (a protocol-level ping is
    // not a frame of ours and is not counted) and other connections are unaffected.
    const pong = new Promise((resolve) => c.ws.once('pong', resolve));
    c.ws.ping();
    await pong;
    expect(c.frames.some((f) => f.type === 'pong' && f.ts > 5)).toBe(false);
    await other.sync();
    expect((await server.chat.snapshot()).errors.byCode.rate_limited).toBe(3);

    // More than a whole window's worth refused in a row: the server stops answering and closes.
    for (let ts = 9; ts <= 11; ts++) c.send({ type: 'ping', ts });
    const closed = await c.closed;
    expect(closed).toEqual({ code: CLOSE_CODES.POLICY_VIOLATION, reason: 'frame rate limit exceeded' });
    await other.sync();
  });
});

describe('upgrades per client address', () => {
  it('refuses the upgrade over RATE_LIMIT_MAX with a real 429 and retry-after; open connections keep working', async () => {
    const { server, url } = await start({ rateLimitMax: 3, rateLimitWindowMs: 60_000 });
    const a = await connect(url);
    const { session } = await a.join();
    const b = await connect(url);
    await b.join(session.id);
    const c = await connect(url);
    await c.sync();

    const refused = await refusedUpgrade(url);
    expect(refused.status).toBe(429);
    expect(refused.body.error).toMatchObject({
      code: 'rate_limited',
      message: expect.stringMatching(/more than 3 connections in 60 s from this address.*RATE_LIMIT_MAX/),
    });
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(60);
    // Still over it: refused again, whatever the path or the token.
    expect((await refusedUpgrade(`${url}/elsewhere`)).status).toBe(429);
    expect((await server.chat.snapshot()).errors.byCode.rate_limited).toBe(2);

    // The three connections that got in are untouched: a reply still reaches both members.
    b.send({ type: 'send', text: 'still here?' });
    expect(await a.next('done')).toMatchObject({ finishReason: 'stop' });
    expect(await b.next('done')).toMatchObject({ finishReason: 'stop' });
    await c.sync();
  });

  it('forgets counts when the window ends and never remembers more than maxAddresses', () => {
    const limit = new AddressRateLimit(2, 1_000, 3, 0);
    expect([limit.take('a', 0), limit.take('a', 10), limit.take('a', 20)]).toEqual([0, 0, 1]);
    expect(limit.take('b', 30)).toBe(0); // its own budget
    expect(limit.take('a', 1_000)).toBe(0); // a new window
    for (const address of ['c', 'd', 'e', 'f']) limit.take(address, 1_010);
    expect(limit.size).toBe(3);
  });
});
