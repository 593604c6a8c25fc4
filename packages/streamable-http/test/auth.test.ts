import type { ChatEvent, ChatServer } from '@gtp/core';
import { testConfig } from '@gtp/core/testing';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StreamableHttpAdapter } from '../client.ts';
import { createServer } from '../server.ts';

const TOKEN = 'streamable-test-token';
const OTHER_ORIGIN = 'http://app.example.test';

async function collect(events: AsyncIterable<ChatEvent>): Promise<ChatEvent[]> {
  const out: ChatEvent[] = [];
  for await (const event of events) out.push(event);
  return out;
}

describe('Streamable HTTP with AUTH_TOKEN and ALLOWED_ORIGINS set', () => {
  let server: ChatServer;
  let url: string;
  const adapters: StreamableHttpAdapter[] = [];
  const adapter = (token?: string) => {
    const made = new StreamableHttpAdapter(url, token ? { token } : {});
    adapters.push(made);
    return made;
  };

  beforeAll(async () => {
    server = await createServer({
      config: testConfig({ authToken: TOKEN, allowedOrigins: [OTHER_ORIGIN], simTokenDelayMs: 2 }),
    });
    url = await server.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await Promise.all(adapters.map((a) => a.close()));
    await server.close();
  });

  it('the adapter with the token streams a reply end to end', async () => {
    const client = adapter(TOKEN);
    const session = await client.createSession();
    const events = await collect(client.send(session.id, 'hello'));
    expect(events[0]).toMatchObject({ type: 'start', sessionId: session.id });
    expect(events.filter((e) => e.type === 'delta').length).toBeGreaterThan(1);
    expect(events.at(-1)).toMatchObject({ type: 'done', finishReason: 'stop' });
  });

  it('without the token the chat call is refused before any stream: unauthorized', async () => {
    const session = await adapter(TOKEN).createSession();
    for (const client of [adapter(), adapter('wrong-token')]) {
      await expect(collect(client.send(session.id, 'let me in'))).rejects.toMatchObject({
        code: 'unauthorized',
      });
      await expect(client.createSession()).rejects.toMatchObject({ code: 'unauthorized' });
      expect((await client.health()).status).toBe('ok');
    }
    expect(await adapter(TOKEN).history(session.id)).toEqual([]);
  });

  it('an allowed browser origin gets its CORS header on the streamed answer too', async () => {
    // The stream is written to the raw response (hijacked): the headers the app's hooks set
    // must still be on it, or a page on another allowed origin could not read the stream.
    const session = await adapter(TOKEN).createSession();
    const response = await request(`${url}/sessions/${session.id}/messages`, {
      method: 'POST',
      headers: {
        origin: OTHER_ORIGIN,
        authorization: `Bearer ${TOKEN}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ text: 'hi' }),
    });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^application\/x-ndjson/);
    expect(response.headers['access-control-allow-origin']).toBe(OTHER_ORIGIN);
    expect((await response.body.text()).trimEnd().split('\n').at(-1)).toContain('"type":"done"');
  });

  it('a foreign origin is refused with 403 forbidden, as JSON, before any stream', async () => {
    const session = await adapter(TOKEN).createSession();
    const response = await request(`${url}/sessions/${session.id}/messages`, {
      method: 'POST',
      headers: {
        origin: 'http://evil.example.test',
        authorization: `Bearer ${TOKEN}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ text: 'hi' }),
    });
    expect(response.statusCode).toBe(403);
    expect(await response.body.json()).toMatchObject({ error: { code: 'forbidden' } });
  });

  // The /demo page with ?access_token= (in Chromium, for all three demos at once, on the shared
  // page design): packages/lab/test/demo-auth.test.ts.
});
