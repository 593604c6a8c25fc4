import type { ChatEvent, ChatServer } from '@gtp/core';
import { testConfig } from '@gtp/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SseAdapter } from '../client.ts';
import { createServer } from '../server.ts';
import { SseReader } from './helpers.ts';

const TOKEN = 'sse-test-token';

describe('SSE with AUTH_TOKEN set', () => {
  let server: ChatServer;
  let url: string;
  const adapters: SseAdapter[] = [];
  const readers: SseReader[] = [];
  const adapter = (token?: string) => {
    const made = new SseAdapter(url, token ? { token } : {});
    adapters.push(made);
    return made;
  };
  const open = async (path: string, headers: Record<string, string> = {}) => {
    const reader = await SseReader.open(`${url}${path}`, headers);
    readers.push(reader);
    return reader;
  };

  beforeAll(async () => {
    server = await createServer({ config: testConfig({ authToken: TOKEN }) });
    url = await server.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await Promise.all(readers.map((r) => r.close()));
    await Promise.all(adapters.map((a) => a.close()));
    await server.close();
  });

  it('the adapter with the token chats end to end (header on the POSTs and on the EventSource)', async () => {
    const client = adapter(TOKEN);
    const session = await client.createSession();
    await client.useSession(session.id);
    const events: ChatEvent[] = [];
    for await (const event of client.send(session.id, 'hello with a token')) events.push(event);
    expect(events.at(-1)).toMatchObject({ type: 'done', finishReason: 'stop' });
    expect((await client.history(session.id)).map((m) => m.role)).toEqual(['user', 'model']);
  });

  it('without the token the event stream is 401; ?access_token= (what a browser uses) opens it', async () => {
    const session = await adapter(TOKEN).createSession();
    const bare = await open(`/sessions/${session.id}/events`);
    await bare.untilEnded();
    expect(bare.status).toBe(401);
    expect(bare.headers['www-authenticate']).toMatch(/^Bearer/);
    expect(bare.frames).toEqual([]);

    const wrong = await open(`/sessions/${session.id}/events?access_token=nope`);
    expect(wrong.status).toBe(401);
    const query = await open(`/sessions/${session.id}/events?access_token=${TOKEN}`);
    expect(query.status).toBe(200);
    const header = await open(`/sessions/${session.id}/events`, { authorization: `Bearer ${TOKEN}` });
    expect(header.status).toBe(200);

    // The adapter without a token is refused before any stream opens.
    await expect(adapter().createSession()).rejects.toMatchObject({ code: 'unauthorized' });
    await expect(adapter().useSession(session.id)).rejects.toMatchObject({ code: 'unauthorized' });
  });
});
