import { describe, expect, it } from 'vitest';
import { ChatError, type ChatEvent, ChatService, MemorySessionStore, SimulatedModel } from '../src/index.ts';

function service(model = new SimulatedModel({ ttftMs: 0, tokenDelayMs: 0 }), maxMessageChars = 100) {
  return new ChatService({ store: new MemorySessionStore(), model, maxMessageChars });
}

async function collect(events: AsyncIterable<ChatEvent>): Promise<ChatEvent[]> {
  const out: ChatEvent[] = [];
  for await (const e of events) out.push(e);
  return out;
}

describe('ChatService', () => {
  it('runs turns whose history alternates user/model and whose events are start, deltas, done', async () => {
    const chat = service();
    const { id } = await chat.createSession();
    for (const text of ['first question', 'second question', 'third']) {
      const events = await collect(chat.reply(id, text));
      expect(events[0]).toMatchObject({ type: 'start', sessionId: id });
      const deltas = events.filter((e) => e.type === 'delta');
      expect(deltas.length).toBeGreaterThan(3);
      // A delta carries its text and nothing the start said (no messageId, no index).
      for (const d of deltas) expect(Object.keys(d)).toEqual(['type', 'text']);
      expect(events.at(-1)).toMatchObject({ type: 'done', finishReason: 'stop' });
    }
    const history = await chat.history(id);
    expect(history.map((m) => m.role)).toEqual(['user', 'model', 'user', 'model', 'user', 'model']);
    expect(history[4]?.text).toBe('third');
    expect(history[5]?.text).toContain('Turn 3');
    expect((await chat.getSession(id)).messageCount).toBe(6);
  });

  it('rolls back the user turn when the model fails mid-stream', async () => {
    const chat = service(new SimulatedModel({ ttftMs: 0, tokenDelayMs: 0, failAfterTokens: 3 }));
    const { id } = await chat.createSession();
    const events = await collect(chat.reply(id, 'hello'));
    expect(events.filter((e) => e.type === 'delta')).toHaveLength(3);
    expect(events.at(-1)).toMatchObject({ type: 'error', error: { code: 'model_error' } });
    expect(await chat.history(id)).toEqual([]);
    expect(chat.stats.snapshot(1).turns.failed).toBe(1);
    // The session is free again.
    expect(chat.isReplying(id)).toBe(false);
  });

  it('keeps the partial text, marked interrupted, when the signal aborts', async () => {
    const chat = service(new SimulatedModel({ ttftMs: 0, tokenDelayMs: 5 }));
    const { id } = await chat.createSession();
    const controller = new AbortController();
    const events: ChatEvent[] = [];
    for await (const e of chat.reply(id, 'tell me a story', { signal: controller.signal })) {
      events.push(e);
      if (e.type === 'delta' && events.filter((x) => x.type === 'delta').length === 3) controller.abort();
    }
    const done = events.at(-1);
    expect(done).toMatchObject({ type: 'done', finishReason: 'cancelled' });
    const text = events.flatMap((e) => (e.type === 'delta' ? [e.text] : [])).join('');
    const history = await chat.history(id);
    expect(history).toEqual([
      { role: 'user', text: 'tell me a story' },
      { role: 'model', text, interrupted: true },
    ]);
    expect(chat.stats.snapshot(1).turns.cancelled).toBe(1);
    // The next message works and the history still alternates.
    await collect(chat.reply(id, 'again'));
    expect((await chat.history(id)).map((m) => m.role)).toEqual(['user', 'model', 'user', 'model']);
  });

  it('treats a consumer that stops reading as a cancel', async () => {
    const chat = service(new SimulatedModel({ ttftMs: 0, tokenDelayMs: 1 }));
    const { id } = await chat.createSession();
    for await (const e of chat.reply(id, 'hi')) if (e.type === 'delta') break;
    const history = await chat.history(id);
    expect(history).toHaveLength(2);
    expect(history[1]).toMatchObject({ role: 'model', interrupted: true });
    expect(chat.isReplying(id)).toBe(false);
    expect(chat.stats.activeStreams).toBe(0);
  });

  it('refuses a second concurrent reply with session_busy and leaves history untouched', async () => {
    const chat = service(new SimulatedModel({ ttftMs: 0, tokenDelayMs: 2 }));
    const { id } = await chat.createSession();
    const first = chat.reply(id, 'one');
    await first.next(); // start: the lock is held
    await expect(chat.reply(id, 'two').next()).rejects.toMatchObject({ code: 'session_busy' });
    await expect(chat.clearHistory(id)).rejects.toMatchObject({ code: 'session_busy' });
    await collect(first);
    expect((await chat.history(id)).map((m) => m.text)[0]).toBe('one');
    expect(await chat.history(id)).toHaveLength(2);
  });

  it('cancel(sessionId) stops the running reply', async () => {
    const chat = service(new SimulatedModel({ ttftMs: 0, tokenDelayMs: 5 }));
    const { id } = await chat.createSession();
    expect(chat.cancel(id)).toBe(false);
    const events: ChatEvent[] = [];
    for await (const e of chat.reply(id, 'x')) {
      events.push(e);
      if (e.type === 'delta' && events.filter((x) => x.type === 'delta').length === 1)
        expect(chat.cancel(id)).toBe(true);
    }
    expect(events.at(-1)).toMatchObject({ type: 'done', finishReason: 'cancelled' });
  });

  it('throws clear errors before the first event for bad input and unknown sessions', async () => {
    const chat = service();
    const { id } = await chat.createSession();
    await expect(chat.reply('nope', 'hi').next()).rejects.toMatchObject({ code: 'session_not_found' });
    await expect(chat.reply(id, '   ').next()).rejects.toMatchObject({ code: 'invalid_request' });
    await expect(chat.reply(id, 42).next()).rejects.toMatchObject({ code: 'invalid_request' });
    const tooLong = chat.reply(id, 'x'.repeat(101)).next();
    await expect(tooLong).rejects.toBeInstanceOf(ChatError);
    await expect(tooLong).rejects.toMatchObject({
      code: 'payload_too_large',
      message: expect.stringContaining('100'),
    });
    expect(await chat.history(id)).toEqual([]);
    await expect(chat.getSession('nope')).rejects.toMatchObject({ code: 'session_not_found' });
    await expect(chat.deleteSession('nope')).rejects.toMatchObject({ code: 'session_not_found' });
  });
});

describe('ChatService when the store fails after start', () => {
  it('yields an error event (never throws mid-stream) and frees the session', async () => {
    // A store that goes away (Redis down) exactly when the model's turn is saved.
    class FailingStore extends MemorySessionStore {
      failModelTurn = true;
      override async endTurn(...args: Parameters<MemorySessionStore['endTurn']>) {
        const [id, lock, outcome] = args;
        if ('model' in outcome && this.failModelTurn) {
          // The write fails; the lock expires (here: is released) by itself.
          await super.endTurn(id, lock, { rollback: true });
          throw new ChatError('unavailable', 'the session store is unavailable');
        }
        return super.endTurn(...args);
      }
    }
    const store = new FailingStore();
    const chat = new ChatService({ store, model: new SimulatedModel({ ttftMs: 0, tokenDelayMs: 0 }) });
    const { id } = await chat.createSession();
    const events = await collect(chat.reply(id, 'hello'));
    expect(events.at(-1)).toMatchObject({ type: 'error', error: { code: 'unavailable' } });
    expect(await chat.history(id)).toEqual([]);
    expect(chat.isReplying(id)).toBe(false);
    store.failModelTurn = false;
    expect((await collect(chat.reply(id, 'again'))).at(-1)).toMatchObject({ type: 'done' });
  });
});

describe('ChatError', () => {
  it('maps codes to HTTP and gRPC statuses and wraps unknown errors', () => {
    expect(new ChatError('session_busy', 'x').httpStatus).toBe(409);
    expect(new ChatError('session_busy', 'x').grpcStatus).toBe(9);
    expect(new ChatError('session_not_found', 'x').grpcStatus).toBe(5);
    expect(new ChatError('unauthorized', 'x').grpcStatus).toBe(16);
    const wrapped = ChatError.from(new Error('secret detail'));
    expect(wrapped.code).toBe('internal');
    expect(wrapped.message).not.toContain('secret');
  });
});
