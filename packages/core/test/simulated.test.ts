import { describe, expect, it } from 'vitest';
import { type Message, SimulatedModel } from '../src/index.ts';

async function run(model: SimulatedModel, history: Message[], signal?: AbortSignal) {
  const tokens: string[] = [];
  const stream = model.stream(history, signal ? { signal } : {});
  for (;;) {
    const step = await stream.next();
    if (step.done) return { tokens, result: step.value };
    tokens.push(step.value);
  }
}

describe('SimulatedModel', () => {
  const history: Message[] = [
    { role: 'user', text: 'What is SSE?' },
    { role: 'model', text: 'An event stream.' },
    { role: 'user', text: 'And WebSocket?' },
  ];

  it('is deterministic and shows that it saw the history', async () => {
    const model = new SimulatedModel({ ttftMs: 0, tokenDelayMs: 0 });
    const a = await run(model, history);
    const b = await run(model, history);
    expect(a.tokens).toEqual(b.tokens);
    const text = a.tokens.join('');
    expect(text).toContain('Turn 2');
    expect(text).toContain('And WebSocket?');
    expect(text).toContain('What is SSE?');
    expect(a.result).toEqual({
      finishReason: 'stop',
      usage: { inputTokens: 8, outputTokens: a.tokens.length },
    });
    const other = await run(model, [{ role: 'user', text: 'something else entirely' }]);
    expect(other.tokens.join('')).not.toBe(text);
  });

  it('shows the whole history: a name told earlier, and the first message', () => {
    const model = new SimulatedModel({ ttftMs: 0, tokenDelayMs: 0 });
    const name = model.compose([
      { role: 'user', text: 'My name is Ada' },
      { role: 'model', text: 'Hello.' },
      { role: 'user', text: 'What is my name?' },
    ]);
    expect(name).toContain('Your name is Ada (you told me in turn 1).');
    const first = model.compose([
      { role: 'user', text: 'Tell me about SSE' },
      { role: 'model', text: 'It streams.' },
      { role: 'user', text: 'And gRPC?' },
      { role: 'model', text: 'It is typed.' },
      { role: 'user', text: 'what did I say first?' },
    ]);
    expect(first).toContain('Your first message was "Tell me about SSE".');
    expect(first).toContain('I read all 5 messages so far');
    expect(model.compose([{ role: 'user', text: 'what did I say first?' }])).not.toContain('first message');
  });

  it('honours SIM_TTFT_MS and SIM_TOKEN_DELAY_MS pacing', async () => {
    const model = new SimulatedModel({ ttftMs: 40, tokenDelayMs: 10 });
    const started = performance.now();
    const arrivals: number[] = [];
    const stream = model.stream(history);
    for await (const _ of stream) arrivals.push(performance.now() - started);
    // Timers never fire early: these are lower bounds, whatever the machine's speed.
    expect(arrivals[0]).toBeGreaterThanOrEqual(39);
    for (let i = 1; i < arrivals.length; i++)
      expect(arrivals[i]! - arrivals[i - 1]!).toBeGreaterThanOrEqual(9);
  });

  it('stops when its signal aborts', async () => {
    const model = new SimulatedModel({ ttftMs: 0, tokenDelayMs: 5 });
    const controller = new AbortController();
    const tokens: string[] = [];
    await expect(
      (async () => {
        for await (const t of model.stream(history, { signal: controller.signal })) {
          tokens.push(t);
          if (tokens.length === 2) controller.abort();
        }
      })(),
    ).rejects.toMatchObject({ name: 'AbortError' });
    expect(tokens).toHaveLength(2);
  });

  it('can stop at max_tokens', async () => {
    const model = new SimulatedModel({ ttftMs: 0, tokenDelayMs: 0, maxOutputTokens: 4 });
    const { tokens, result } = await run(model, history);
    expect(tokens).toHaveLength(4);
    expect(result.finishReason).toBe('max_tokens');
  });
});
