import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChatEvent, ChatService, GeminiModel, loadConfig, MemorySessionStore } from '../src/index.ts';
import { createModel } from '../src/model/create.ts';
import { FakeGemini } from '../src/testing/index.ts';

/**
 * The Gemini provider through the real @google/genai SDK, against a local server that speaks
 * Gemini's streamGenerateContent?alt=sse wire format, reached through GOOGLE_GEMINI_BASE_URL.
 */
describe('GeminiModel (real SDK, local Gemini-wire server)', () => {
  const fake = new FakeGemini(() => ({ chunks: ['Hello', ' there'] }));
  let previousBaseUrl: string | undefined;

  beforeAll(async () => {
    previousBaseUrl = process.env.GOOGLE_GEMINI_BASE_URL;
    process.env.GOOGLE_GEMINI_BASE_URL = await fake.start();
  });
  afterAll(async () => {
    if (previousBaseUrl === undefined) delete process.env.GOOGLE_GEMINI_BASE_URL;
    else process.env.GOOGLE_GEMINI_BASE_URL = previousBaseUrl;
    await fake.stop();
  });

  function chatService() {
    const config = loadConfig({ GEMINI_API_KEY: 'test-key', GENAI_MODEL_ID: 'gemini-test' });
    const model = createModel(config);
    expect(model).toBeInstanceOf(GeminiModel);
    return new ChatService({ store: new MemorySessionStore(), model });
  }

  it('streams deltas as they arrive and sends the whole conversation on the second turn', async () => {
    // The fake sends the second chunk only after the client has seen the first: if the SDK or
    // our provider buffered the reply, this test would hang and fail.
    let firstSeen: () => void = () => undefined;
    const seen = new Promise<void>((resolve) => {
      firstSeen = resolve;
    });
    fake.setScript(() => ({
      chunks: ['Hel', 'lo ', 'world'],
      beforeChunk: (i) => (i === 1 ? seen : Promise.resolve()),
    }));
    const chat = chatService();
    const { id } = await chat.createSession();
    const events: ChatEvent[] = [];
    for await (const e of chat.reply(id, 'hi')) {
      events.push(e);
      if (e.type === 'delta' && events.filter((x) => x.type === 'delta').length === 1) firstSeen();
    }
    expect(events.filter((e) => e.type === 'delta').map((e) => (e.type === 'delta' ? e.text : ''))).toEqual([
      'Hel',
      'lo ',
      'world',
    ]);
    expect(events.at(-1)).toMatchObject({
      type: 'done',
      finishReason: 'stop',
      usage: { inputTokens: 3, outputTokens: 3 },
    });
    const first = fake.requests.at(-1)!;
    expect(first.path).toBe('/v1beta/models/gemini-test:streamGenerateContent?alt=sse');
    expect(first.apiKey).toBe('test-key');
    expect(first.body.systemInstruction).toBeDefined();

    fake.setScript(() => ({ chunks: ['Second answer'] }));
    for await (const _ of chat.reply(id, 'and again')) {
      // drain
    }
    expect(fake.requests.at(-1)!.body.contents).toEqual([
      { role: 'user', parts: [{ text: 'hi' }] },
      { role: 'model', parts: [{ text: 'Hello world' }] },
      { role: 'user', parts: [{ text: 'and again' }] },
    ]);
    expect((await chat.history(id)).map((m) => m.text)).toEqual([
      'hi',
      'Hello world',
      'and again',
      'Second answer',
    ]);
  });

  it('an abort mid-stream closes the upstream request and keeps the partial reply', async () => {
    const never = new Promise<void>(() => undefined);
    fake.setScript(() => ({
      chunks: ['partial ', 'never sent'],
      beforeChunk: (i) => (i === 1 ? never : Promise.resolve()),
    }));
    const chat = chatService();
    const { id } = await chat.createSession();
    const controller = new AbortController();
    const events: ChatEvent[] = [];
    for await (const e of chat.reply(id, 'long question', { signal: controller.signal })) {
      events.push(e);
      if (e.type === 'delta') controller.abort();
    }
    expect(events.at(-1)).toMatchObject({ type: 'done', finishReason: 'cancelled' });
    await fake.requests.at(-1)!.aborted; // resolves only if the SDK really closed the connection
    expect(await chat.history(id)).toEqual([
      { role: 'user', text: 'long question' },
      { role: 'model', text: 'partial ', interrupted: true },
    ]);
  });

  it.each([
    // The server's key is rejected: the operator's fault (a 502 naming GEMINI_API_KEY), not the caller's 401.
    [401, 'API key not valid. Please pass a valid API key.', undefined, 'model_error', /GEMINI_API_KEY/],
    [
      429,
      'Resource has been exhausted (e.g. check quota).',
      '17s',
      'rate_limited',
      /quota exceeded; retry after 17 s/,
    ],
    [
      404,
      'models/gemini-test is not found for API version v1beta',
      undefined,
      'model_error',
      /gemini-test.*not found.*GENAI_MODEL_ID/,
    ],
    [500, 'Internal error', undefined, 'model_error', /HTTP 500/],
  ])(
    'HTTP %i becomes a clear %s error and the turn is rolled back',
    async (status, message, retryDelay, code, pattern) => {
      fake.setScript(() => ({ status, message, ...(retryDelay ? { retryDelay } : {}) }));
      const chat = chatService();
      const { id } = await chat.createSession();
      const events: ChatEvent[] = [];
      for await (const e of chat.reply(id, 'hi')) events.push(e);
      const last = events.at(-1);
      expect(last).toMatchObject({ type: 'error', error: { code } });
      expect(last?.type === 'error' && last.error.message).toMatch(pattern);
      // The retry delay travels with the error event, so transports can set retry-after.
      if (retryDelay) expect(last).toMatchObject({ error: { retryAfterSeconds: 17 } });
      expect(await chat.history(id)).toEqual([]);
    },
  );
});
