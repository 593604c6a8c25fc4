/**
 * Issue 16, inside long-lived streams and with keys from elsewhere:
 * - gRPC's bidi Chat stream gets RATE_LIMIT_MAX commands per window, like WebSocket frames: past
 *   it each command is answered with an error event and the stream stays open; a client that
 *   keeps going after a whole budget of refusals has its stream ended (RESOURCE_EXHAUSTED).
 * - The WebSocket `share` frame: the owner invites a second principal, whose JWT can then join;
 *   a member cannot invite; a principal never invited gets session_not_found.
 * - JWT_JWKS_URL: tokens signed by a key of a JWKS that a local HTTP server serves (jose's
 *   generateKeyPair/exportJWK; RS256 and ES256) are accepted, a token of another key refused.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { testConfig } from '@gtp/core/testing';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { GrpcClient, type PbEvent } from '../src/grpc.ts';
import { HttpJson } from '../src/http.ts';
import { type Running, target } from '../src/targets.ts';
import { WsClient } from '../src/ws.ts';

let run: Running | undefined;
afterEach(async () => {
  await run?.close();
  run = undefined;
});

describe('grpc: commands on one Chat stream', () => {
  const MAX = 3;

  it(`past ${MAX} commands a window: an error event each, the stream stays open; then it is ended`, async () => {
    run = await target('grpc').start({
      config: testConfig({ rateLimitMax: MAX, rateLimitWindowMs: 60_000 }),
    });
    const client = new GrpcClient(run.url);
    const { call, next } = client.chat();
    let ended = false;
    call.on('error', () => {
      ended = true;
    });
    try {
      const ping = (ts: number) => call.write({ ping: { ts: String(ts) } });
      for (let i = 0; i < MAX; i++) ping(i);
      for (let i = 0; i < MAX; i++) await next((f: PbEvent) => f.event === 'pong');
      // One over: answered with an error event, and the stream is still served.
      ping(100);
      const refused = await next((f) => f.event === 'error');
      expect(JSON.stringify(refused.error)).toMatch(/rate_limited/i);
      expect(ended).toBe(false);
      // Keep going: a whole budget of refusals in a row, then the stream is ended.
      for (let i = 0; i < MAX; i++) ping(200 + i);
      for (let i = 0; i < MAX - 1; i++) await next((f) => f.event === 'error');
      await expect(next(() => false)).rejects.toMatchObject({ grpcCode: 8 }); // RESOURCE_EXHAUSTED
      expect(ended).toBe(true);
    } finally {
      call.cancel();
      client.close();
    }
  });
});

describe('websocket: the share frame', () => {
  const JWT_SECRET = 'a-secret-of-at-least-32-bytes-for-hs256!';
  const tokenOf = (sub: string) =>
    new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(sub)
      .setExpirationTime('10m')
      .sign(new TextEncoder().encode(JWT_SECRET));

  it('the owner shares; the invited principal joins; a member cannot share; others: session_not_found', async () => {
    run = await target('websocket').start({ config: testConfig({ jwtSecret: JWT_SECRET }) });
    const wsUrl = `${run.url.replace(/^http/, 'ws')}/ws`;
    const [alice, bob, carol] = await Promise.all(['alice', 'bob', 'carol'].map(tokenOf));
    const sockets: WsClient[] = [];
    const open = (token: string) => {
      const ws = new WsClient(wsUrl, { token });
      sockets.push(ws);
      return ws;
    };
    try {
      const owner = open(alice!);
      const id = await owner.join();

      // Before the owner's grant, Bob cannot join.
      const early = open(bob!);
      await early.opened;
      early.send({ type: 'join', sessionId: id });
      expect(await early.next('error')).toMatchObject({ error: { code: 'session_not_found' } });

      owner.send({ type: 'share', principal: 'bob' });
      expect(await owner.next('shared')).toMatchObject({ sessionId: id, principal: 'bob' });

      const member = open(bob!);
      expect(await member.join(id)).toBe(id);
      // A member may not invite others.
      member.send({ type: 'share', principal: 'carol' });
      expect(await member.next('error')).toMatchObject({ error: { code: 'forbidden' } });

      // Carol was never invited: the session does not exist for her (not forbidden: no hint).
      const stranger = open(carol!);
      await stranger.opened;
      stranger.send({ type: 'join', sessionId: id });
      expect(await stranger.next('error')).toMatchObject({ error: { code: 'session_not_found' } });
    } finally {
      for (const ws of sockets) ws.close();
    }
  });
});

describe('JWT_JWKS_URL', () => {
  let jwksServer: Server | undefined;
  afterEach(async () => {
    jwksServer?.close();
    jwksServer = undefined;
  });

  it('a token signed by a key of the JWKS is accepted (RS256, ES256); another key is refused', async () => {
    const rsa = await generateKeyPair('RS256');
    const ec = await generateKeyPair('ES256');
    const stranger = await generateKeyPair('RS256'); // not in the JWKS
    const keys: JWK[] = [
      { ...(await exportJWK(rsa.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' },
      { ...(await exportJWK(ec.publicKey)), kid: 'ec-1', alg: 'ES256', use: 'sig' },
    ];
    let fetches = 0;
    jwksServer = createServer((_request, response) => {
      fetches += 1;
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ keys }));
    });
    jwksServer.listen(0, '127.0.0.1');
    await once(jwksServer, 'listening');
    const { port } = jwksServer.address() as { port: number };

    run = await target('rest').start({
      config: testConfig({
        jwtJwksUrl: `http://127.0.0.1:${port}/.well-known/jwks.json`,
        jwtIssuer: 'https://issuer.test',
        jwtAudience: 'genai-chat',
      }),
    });
    const sign = (key: CryptoKey, alg: string, kid: string, sub: string) =>
      new SignJWT({})
        .setProtectedHeader({ alg, kid })
        .setSubject(sub)
        .setIssuer('https://issuer.test')
        .setAudience('genai-chat')
        .setExpirationTime('5m')
        .sign(key);
    const status = async (token: string) => {
      const api = new HttpJson(run!.url, token);
      try {
        return (await api.call('GET', '/sessions')).status;
      } finally {
        await api.close();
      }
    };

    const rsaToken = await sign(rsa.privateKey, 'RS256', 'rsa-1', 'rita');
    const ecToken = await sign(ec.privateKey, 'ES256', 'ec-1', 'erin');
    expect(await status(rsaToken)).toBe(200);
    expect(await status(ecToken)).toBe(200);
    // The principal is the sub: Rita's session is not Erin's.
    const ritas = new HttpJson(run.url, rsaToken);
    const erins = new HttpJson(run.url, ecToken);
    try {
      const id = await ritas.createSession();
      expect((await erins.call('GET', `/sessions/${id}`)).status).toBe(404);
      expect((await ritas.call('GET', `/sessions/${id}`)).status).toBe(200);
    } finally {
      await ritas.close();
      await erins.close();
    }
    // Another key, whether it claims a kid of the set or none: refused.
    expect(await status(await sign(stranger.privateKey, 'RS256', 'rsa-1', 'mallory'))).toBe(401);
    expect(await status(await sign(stranger.privateKey, 'RS256', 'unknown', 'mallory'))).toBe(401);
    // A right key but the wrong audience: refused too.
    const wrongAudience = await new SignJWT({})
      .setProtectedHeader({ alg: 'RS256', kid: 'rsa-1' })
      .setSubject('rita')
      .setIssuer('https://issuer.test')
      .setAudience('another-api')
      .setExpirationTime('5m')
      .sign(rsa.privateKey);
    expect(await status(wrongAudience)).toBe(401);
    expect(fetches).toBeGreaterThan(0); // the keys came from the URL
  });
});
