/**
 * The Stop: POST /sessions/:id/cancel. A closed connection only starts the resume grace (the
 * server cannot tell Ctrl+C from a lost network), so the client's Ctrl+C and the demo's Stop send
 * this: the reply stops at once, its stream ends with `done` cancelled, and the session takes the
 * next message. Real server on loopback, undici.
 */
import { type ChatEvent, LineSplitter } from '@gtp/core';
import { request } from 'undici';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { StreamableHttpAdapter } from '../client.ts';
import { createSession, postRaw, type Started, start } from './helpers.ts';

let running: Started | undefined;
afterEach(async () => {
  await running?.close();
  running = undefined;
});

const cancel = (url: string, id: string) => request(`${url}/sessions/${id}/cancel`, { method: 'POST' });

async function history(url: string, id: string) {
  const response = await request(`${url}/sessions/${id}/messages`);
  return (
    (await response.body.json()) as { messages: { role: string; text: string; interrupted?: boolean }[] }
  ).messages;
}

describe('POST /sessions/:id/cancel', () => {
  it('stops the reply at once: 204, the stream ends with done cancelled, the next send works', async () => {
    // A long grace: only the cancel can stop this reply within the test.
    running = await start({ model: { tokenDelayMs: 20 }, resumeGraceMs: 60_000 });
    const { url, chat } = running;
    const id = await createSession(url);
    const response = await postRaw(url, id, JSON.stringify({ text: 'tell me a long story' }));
    expect(response.statusCode).toBe(200);
    const events: ChatEvent[] = [];
    const splitter = new LineSplitter();
    let cancelled: number | undefined;
    for await (const chunk of response.body) {
      for (const line of splitter.push(String(chunk))) {
        const event = JSON.parse(line) as ChatEvent;
        events.push(event);
        if (
          event.type === 'delta' &&
          events.filter((e) => e.type === 'delta').length === 2 &&
          cancelled === undefined
        ) {
          cancelled = (await cancel(url, id)).statusCode;
          // 204: stopped here; the session is free the moment the answer arrives.
          expect(chat.isReplying(id)).toBe(false);
        }
      }
    }
    expect(cancelled).toBe(204);
    expect(events.at(-1)).toMatchObject({ type: 'done', finishReason: 'cancelled' });
    const messages = await history(url, id);
    expect(messages[1]).toMatchObject({ role: 'model', interrupted: true });

    const next = await postRaw(url, id, JSON.stringify({ text: 'and now?' }));
    expect(next.statusCode).toBe(200);
    const lines = (await next.body.text()).trim().split('\n');
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({ type: 'done', finishReason: 'stop' });
  });

  it('nothing running: 204; an unknown session: 404 session_not_found', async () => {
    running = await start();
    const { url } = running;
    const id = await createSession(url);
    expect((await cancel(url, id)).statusCode).toBe(204);
    const unknown = await cancel(url, crypto.randomUUID());
    expect(unknown.statusCode).toBe(404);
    expect(await unknown.body.json()).toMatchObject({ error: { code: 'session_not_found' } });
  });

  it('is in the OpenAPI document with its 202 and 204', async () => {
    running = await start();
    const doc = (await (await request(`${running.url}/openapi.json`)).body.json()) as {
      paths: Record<string, { post?: { responses?: Record<string, unknown> } }>;
    };
    const responses = doc.paths['/sessions/{id}/cancel']?.post?.responses ?? {};
    expect(Object.keys(responses)).toEqual(expect.arrayContaining(['202', '204', '404']));
  });

  it('the client: Ctrl+C (the signal) cancels, so the next message is not session_busy', async () => {
    running = await start({ model: { tokenDelayMs: 20 }, resumeGraceMs: 60_000 });
    const { url, chat } = running;
    const adapter = new StreamableHttpAdapter(url);
    try {
      const id = await createSession(url);
      const controller = new AbortController();
      const reading = (async () => {
        let deltas = 0;
        for await (const event of adapter.send(id, 'tell me a long story', { signal: controller.signal })) {
          if (event.type === 'delta' && ++deltas === 2) controller.abort();
        }
      })();
      await expect(reading).rejects.toThrow();
      // With a 60 s grace, only the cancel can have stopped it.
      await vi.waitFor(() => expect(chat.isReplying(id)).toBe(false));
      expect((await history(url, id))[1]).toMatchObject({ role: 'model', interrupted: true });
      const next: ChatEvent[] = [];
      for await (const event of adapter.send(id, 'and now?')) next.push(event);
      expect(next.at(-1)).toMatchObject({ type: 'done', finishReason: 'stop' });
    } finally {
      await adapter.close();
    }
  });
});
