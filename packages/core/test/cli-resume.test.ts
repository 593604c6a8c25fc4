/**
 * resumableReply (src/cli/resume.ts) on its own, with the streams a transport hands it: what it
 * does when a `reset` that replays nothing is followed by the end of the stream (the reply ended
 * while the connection was down). The real-connection cases are each package's
 * client-resume.test.ts; these pin the three ends: the final event from the log, a `done` made
 * from the stored turn, and a clear error when nothing is stored; never a resume loop.
 */
import { describe, expect, it } from 'vitest';
import { type LoggedEvent, resumableReply } from '../src/cli/index.ts';
import type { ChatEvent, Message } from '../src/index.ts';

const MESSAGE_ID = 'm-1';
const STORED = 'Resumable streams keep every token.';

async function* stream(items: LoggedEvent[]): AsyncGenerator<LoggedEvent> {
  for (const item of items) yield item;
}

/** The reply's start and first words, a drop; the resume answers with a reset and ends. */
function cutThenReset(): { first: AsyncIterable<LoggedEvent>; resumes: number[] } {
  const resumes: number[] = [];
  const first = (async function* () {
    yield { seq: 1, event: { type: 'start', sessionId: 's', messageId: MESSAGE_ID } } as LoggedEvent;
    yield { seq: 2, event: { type: 'delta', text: 'Resumable ' } } as LoggedEvent;
    throw Object.assign(new Error('connection reset'), { dropped: true });
  })();
  return { first, resumes };
}

async function read(options: {
  history: Message[];
  finalFromLog?: (messageId: string, after: number) => Promise<LoggedEvent | undefined>;
}): Promise<{ events: ChatEvent[]; notices: string[]; resumes: number[] }> {
  const { first, resumes } = cutThenReset();
  const notices: string[] = [];
  const events: ChatEvent[] = [];
  const reply = resumableReply({
    first,
    resume: (_messageId, after) => {
      resumes.push(after);
      return stream([
        { seq: 40, reset: { reason: 'event 2 is older than the 4 events kept', replaying: false } },
      ]);
    },
    history: async () => options.history,
    ...(options.finalFromLog ? { finalFromLog: options.finalFromLog } : {}),
    dropped: (error) => (error as { dropped?: boolean }).dropped === true,
    notice: (text) => notices.push(text),
  });
  for await (const event of reply) events.push(event);
  return { events, notices, resumes };
}

const text = (events: ChatEvent[]) =>
  events.map((event) => (event.type === 'delta' ? event.text : '')).join('');

describe('resumableReply: a reset that replays nothing, then the end of the stream', () => {
  const done: ChatEvent = {
    type: 'done',
    messageId: MESSAGE_ID,
    finishReason: 'stop',
    usage: { inputTokens: 3, outputTokens: 7 },
    timings: { ttftMs: 1, totalMs: 90 },
  };
  const history: Message[] = [
    { role: 'user', text: 'tell me' },
    { role: 'model', text: STORED },
  ];

  it('ends with the final event from the log (read after the reset seq - 1) and the middle from the history', async () => {
    const asked: number[] = [];
    const { events, resumes } = await read({
      history,
      finalFromLog: async (messageId, after) => {
        asked.push(after);
        return messageId === MESSAGE_ID ? { seq: 40, event: done } : undefined;
      },
    });
    expect(resumes).toEqual([2]); // one resume, no loop
    expect(asked).toEqual([39]);
    expect(text(events)).toBe(STORED);
    expect(events.at(-1)).toEqual(done);
  });

  it('without the final event in the log, ends with a done made from the stored turn, and says so', async () => {
    const interrupted: Message[] = [history[0]!, { role: 'model', text: STORED, interrupted: true }];
    const { events, notices, resumes } = await read({
      history: interrupted,
      finalFromLog: async () => undefined,
    });
    expect(resumes).toEqual([2]);
    expect(text(events)).toBe(STORED);
    expect(events.at(-1)).toMatchObject({ type: 'done', messageId: MESSAGE_ID, finishReason: 'cancelled' });
    expect(notices.join('\n')).toMatch(/its end is from the stored history/);
  });

  it('with no stored model turn, fails with a clear error instead of resuming again', async () => {
    await expect(read({ history: [history[0]!] })).rejects.toThrow(/ended while the connection was down/);
  });
});
