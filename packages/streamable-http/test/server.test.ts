import type { ChatEvent } from '@gtp/core';
import { LineSplitter } from '@gtp/core';
import { request } from 'undici';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { StreamableHttpAdapter } from '../client.ts';
import { createSession, postRaw, type Started, start } from './helpers.ts';

let running: Started | undefined;
afterEach(async () => {
  await running?.close();
  running = undefined;
});

/** Each line of a streamed answer with the moment it arrived, plus how many body chunks carried them. */
async function readTimed(body: AsyncIterable<Buffer>) {
  const lines = new LineSplitter();
  const events: { event: ChatEvent; at: number }[] = [];
  let chunks = 0;
  for await (const chunk of body) {
    chunks += 1;
    const at = performance.now();
    for (const line of lines.push(chunk)) events.push({ event: JSON.parse(line) as ChatEvent, at });
  }
  return { events, chunks };
}

async function history(url: string, id: string) {
  const response = await request(`${url}/sessions/${id}/messages`);
  return (
    (await response.body.json()) as { messages: { role: string; text: string; interrupted?: boolean }[] }
  ).messages;
}

describe('POST /sessions/:id/messages streams NDJSON', () => {
  it('writes each event as the model produces it, not at the end', async () => {
    running = await start({ model: { tokenDelayMs: 10 } });
    const { url, model } = running;
    const id = await createSession(url);

    const response = await postRaw(url, id, JSON.stringify({ text: 'stream please' }));
    expect(response.statusCode).toBe(200);
    const { events, chunks } = await readTimed(response.body);

    const types = events.map((e) => e.event.type);
    expect(types[0]).toBe('start');
    expect(types.at(-1)).toBe('done');
    const deltas = events.filter((e) => e.event.type === 'delta');
    expect(deltas.length).toBeGreaterThan(10);
    // The proof of streaming: the first delta reached the client before the model had even
    // produced its last token (same process, same clock). A buffered answer cannot do that.
    expect(deltas[0]!.at).toBeLessThan(model.tokenTimes.at(-1)!);
    expect(deltas[0]!.at).toBeLessThan(events.at(-1)!.at);
    expect(chunks).toBeGreaterThan(deltas.length / 2);

    const text = deltas.map((e) => (e.event as { text: string }).text).join('');
    expect(await history(url, id)).toEqual([
      { role: 'user', text: 'stream please' },
      { role: 'model', text },
    ]);
  });

  it('answers with streaming headers, never compressed', async () => {
    running = await start();
    const id = await createSession(running.url);
    const response = await request(`${running.url}/sessions/${id}/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'accept-encoding': 'gzip, br' },
      body: JSON.stringify({ text: 'hi' }),
    });
    expect(response.headers['content-type']).toBe('application/x-ndjson; charset=utf-8');
    expect(response.headers['cache-control']).toContain('no-cache');
    expect(response.headers['x-accel-buffering']).toBe('no');
    expect(response.headers['content-encoding']).toBeUndefined();
    expect(response.headers['transfer-encoding']).toBe('chunked');
    const lines = (await response.body.text()).trimEnd().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as ChatEvent).type)).toEqual([
      'start',
      ...Array(lines.length - 2).fill('delta'),
      'done',
    ]);

    const stats = (await (await request(`${running.url}/stats`)).body.json()) as {
      protocol: string;
      turns: { completed: number };
      bytes: { sent: number; received: number };
    };
    expect(stats.protocol).toBe('streamable-http');
    expect(stats.turns.completed).toBe(1);
    expect(stats.bytes.sent).toBeGreaterThanOrEqual(lines.join('\n').length);
    expect(stats.bytes.received).toBeGreaterThan(0);
  });

  it('documents the stream in the OpenAPI document', async () => {
    running = await start();
    const doc = (await (await request(`${running.url}/openapi.json`)).body.json()) as {
      paths: Record<string, { post?: { responses: Record<string, { content?: Record<string, unknown> }> } }>;
    };
    const responses = doc.paths['/sessions/{id}/messages']?.post?.responses;
    expect(Object.keys(responses?.['200']?.content ?? {})).toEqual(['application/x-ndjson']);
    expect(Object.keys(responses ?? {})).toEqual(expect.arrayContaining(['400', '404', '409', '413']));
  });
});

describe('client disconnect', () => {
  it('aborts the model once nobody resumed within the grace, keeps the partial reply interrupted, and the session takes the next message', async () => {
    running = await start({ model: { tokenDelayMs: 15 }, resumeGraceMs: 100 });
    const { url, chat, model } = running;
    const adapter = new StreamableHttpAdapter(url);
    try {
      const id = await createSession(url);
      const controller = new AbortController();
      let received = '';
      let deltas = 0;
      // A raw request whose connection closes after three tokens (the client's Ctrl+C would also
      // POST /cancel: test/cancel.test.ts); nobody resumes it.
      const reading = (async () => {
        const response = await postRaw(
          url,
          id,
          JSON.stringify({ text: 'tell me a long story' }),
          controller.signal,
        );
        const splitter = new LineSplitter();
        for await (const chunk of response.body) {
          for (const line of splitter.push(String(chunk))) {
            const event = JSON.parse(line) as ChatEvent;
            if (event.type !== 'delta') continue;
            received += event.text;
            if (++deltas === 3) controller.abort();
          }
        }
      })();
      await expect(reading).rejects.toThrow();

      await vi.waitFor(() => expect(chat.isReplying(id)).toBe(false));
      expect(model.signals).toHaveLength(1);
      expect(model.signals[0]!.aborted).toBe(true);
      const messages = await history(url, id);
      expect(messages).toHaveLength(2);
      const partial = messages[1]!;
      expect(partial.role).toBe('model');
      expect(partial.interrupted).toBe(true);
      expect(partial.text.startsWith(received)).toBe(true);
      const full = model.compose([{ role: 'user', text: 'tell me a long story' }]);
      expect(partial.text.length).toBeLessThan(full.length);

      const next: ChatEvent[] = [];
      for await (const event of adapter.send(id, 'and now?')) next.push(event);
      expect(next.at(-1)).toMatchObject({ type: 'done', finishReason: 'stop' });
      expect(await history(url, id)).toHaveLength(4);
      const stats = await adapter.stats();
      expect(stats.turns).toMatchObject({ completed: 1, cancelled: 1 });
    } finally {
      await adapter.close();
    }
  });

  it('stops a model that is still thinking (no token yet) once the client has gone for the grace', async () => {
    // A minute to the first token: only the AbortSignal can end this turn within the test.
    running = await start({ model: { ttftMs: 60_000 }, resumeGraceMs: 100 });
    const { url, chat, model } = running;
    const id = await createSession(url);
    const adapter = new StreamableHttpAdapter(url);
    const controller = new AbortController();
    try {
      await expect(
        (async () => {
          for await (const event of adapter.send(id, 'think hard', { signal: controller.signal })) {
            if (event.type === 'start') controller.abort();
          }
        })(),
      ).rejects.toThrow();
    } finally {
      // Its own pool, closed: undici may open a spare connection after an abort, and a connection
      // that never sent a request would hold the server's close() until its timeout.
      await adapter.close();
    }

    await vi.waitFor(() => expect(chat.isReplying(id)).toBe(false), { timeout: 5_000 });
    expect(model.signals[0]!.aborted).toBe(true);
    // No text was produced, so the turn is rolled back (issue 15, item 5): the history is unchanged.
    expect(await history(url, id)).toEqual([]);
  });

  it('shutdown ends a stream in flight with done "cancelled"', async () => {
    running = await start({ model: { tokenDelayMs: 15 } });
    const { url, server } = running;
    const id = await createSession(url);
    const response = await postRaw(url, id, JSON.stringify({ text: 'long one' }));
    const lines = new LineSplitter();
    const events: ChatEvent[] = [];
    let closing: Promise<void> | undefined;
    for await (const chunk of response.body) {
      for (const line of lines.push(chunk)) {
        const event = JSON.parse(line) as ChatEvent;
        events.push(event);
        if (event.type === 'delta' && !closing) closing = server.close();
      }
    }
    await closing;
    expect(events.at(-1)).toMatchObject({ type: 'done', finishReason: 'cancelled' });
  });
});

describe('bad input is refused as JSON before the stream starts, history unchanged', () => {
  const cases: { name: string; body: string; status: number; code: string; message?: RegExp }[] = [
    { name: 'malformed JSON', body: '{"text": "unterminated', status: 400, code: 'invalid_request' },
    { name: 'a wrong type', body: '{"text": 42}', status: 400, code: 'invalid_request' },
    { name: 'no text', body: '{}', status: 400, code: 'invalid_request' },
    { name: 'a blank text', body: '{"text": "   "}', status: 400, code: 'invalid_request' },
    {
      name: 'over MAX_MESSAGE_CHARS',
      body: JSON.stringify({ text: 'x'.repeat(101) }),
      status: 413,
      code: 'payload_too_large',
      message: /MAX_MESSAGE_CHARS/,
    },
    {
      name: 'over the body limit',
      body: JSON.stringify({ text: 'x'.repeat(2_000) }),
      status: 413,
      code: 'payload_too_large',
      message: /BODY_LIMIT_BYTES/,
    },
  ];

  it.each(cases)('$name → $status $code', async ({ body, status, code, message }) => {
    running = await start({ config: { maxMessageChars: 100, bodyLimitBytes: 1_024 } });
    const id = await createSession(running.url);
    const response = await postRaw(running.url, id, body);
    expect(response.statusCode).toBe(status);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    const answer = (await response.body.json()) as { error: { code: string; message: string } };
    expect(answer.error.code).toBe(code);
    if (message) expect(answer.error.message).toMatch(message);
    expect(await history(running.url, id)).toEqual([]);

    // The session still works.
    const ok = await postRaw(running.url, id, JSON.stringify({ text: 'fine' }));
    expect(ok.statusCode).toBe(200);
    await ok.body.text();
  });

  it('an unknown session → 404 session_not_found', async () => {
    running = await start();
    const response = await postRaw(running.url, '00000000-0000-4000-8000-000000000000', '{"text":"hi"}');
    expect(response.statusCode).toBe(404);
    expect(((await response.body.json()) as { error: { code: string } }).error.code).toBe(
      'session_not_found',
    );
  });

  it('a second message while replying → 409 session_busy, the first reply unharmed', async () => {
    running = await start({ model: { tokenDelayMs: 5 } });
    const { url } = running;
    const id = await createSession(url);
    const first = await postRaw(url, id, JSON.stringify({ text: 'first' }));
    expect(first.statusCode).toBe(200);

    const second = await postRaw(url, id, JSON.stringify({ text: 'second' }));
    expect(second.statusCode).toBe(409);
    expect(((await second.body.json()) as { error: { code: string } }).error.code).toBe('session_busy');

    const lines = (await first.body.text()).trimEnd().split('\n');
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({ type: 'done', finishReason: 'stop' });
    const messages = await history(url, id);
    expect(messages.map((m) => m.role)).toEqual(['user', 'model']);
    expect(messages[0]!.text).toBe('first');
  });

  it('a model failure after the stream started arrives as a final error line; the turn is rolled back', async () => {
    running = await start({ model: { failAfterTokens: 2 } });
    const id = await createSession(running.url);
    const response = await postRaw(running.url, id, JSON.stringify({ text: 'break' }));
    expect(response.statusCode).toBe(200);
    const events = (await response.body.text())
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as ChatEvent);
    expect(events.map((e) => e.type)).toEqual(['start', 'delta', 'delta', 'error']);
    expect(events.at(-1)).toMatchObject({ type: 'error', error: { code: 'model_error' } });
    expect(await history(running.url, id)).toEqual([]);
  });
});
