import type { ChatEvent, ChatServer } from '@gtp/core';
import { testConfig } from '@gtp/core/testing';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RestAdapter } from '../client.ts';
import { createServer } from '../server.ts';

const TOKEN = 'rest-test-token';

async function collect(events: AsyncIterable<ChatEvent>): Promise<ChatEvent[]> {
  const out: ChatEvent[] = [];
  for await (const event of events) out.push(event);
  return out;
}

describe('REST with AUTH_TOKEN set', () => {
  let server: ChatServer;
  let url: string;
  const adapters: RestAdapter[] = [];
  const adapter = (token?: string) => {
    const made = new RestAdapter(url, token ? { token } : {});
    adapters.push(made);
    return made;
  };

  beforeAll(async () => {
    server = await createServer({ config: testConfig({ authToken: TOKEN }) });
    url = await server.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await Promise.all(adapters.map((a) => a.close()));
    await server.close();
  });

  it('the adapter with the token chats end to end (it sends Authorization: Bearer)', async () => {
    const client = adapter(TOKEN);
    const session = await client.createSession();
    const events = await collect(client.send(session.id, 'hello'));
    expect(events.map((e) => e.type)).toEqual(['start', 'delta', 'done']);
    expect((await client.history(session.id)).map((m) => m.role)).toEqual(['user', 'model']);
  });

  it('without the token (or with a wrong one) every call is unauthorized; /health stays open', async () => {
    const session = await adapter(TOKEN).createSession();
    for (const client of [adapter(), adapter('wrong-token')]) {
      await expect(client.createSession()).rejects.toMatchObject({ code: 'unauthorized' });
      await expect(client.listSessions()).rejects.toMatchObject({ code: 'unauthorized' });
      await expect(collect(client.send(session.id, 'let me in'))).rejects.toMatchObject({
        code: 'unauthorized',
      });
      expect((await client.health()).status).toBe('ok');
    }
    // Nothing reached the session.
    expect(await adapter(TOKEN).history(session.id)).toEqual([]);
  });

  it('a refused request says how to authenticate: 401 with WWW-Authenticate', async () => {
    const response = await request(`${url}/sessions`, { method: 'POST' });
    expect(response.statusCode).toBe(401);
    expect(response.headers['www-authenticate']).toMatch(/^Bearer /);
    expect(await response.body.json()).toMatchObject({
      error: { code: 'unauthorized', message: expect.stringContaining('Authorization: Bearer') },
    });
  });
});
