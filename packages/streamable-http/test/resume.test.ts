/**
 * Resume (issue 17): the TCP connection is cut mid-reply by a loopback proxy (@gtp/netem, a cut
 * after N bytes), the client resumes with GET /sessions/:id/replies/:messageId?after=<last seq>,
 * and the text it read equals the stored reply: no token lost, none duplicated.
 */
import {
  type ChatServer,
  ChatService,
  LineSplitter,
  MemorySessionStore,
  REPLY_READERS_CHANNEL,
  SimulatedModel,
} from '@gtp/core';
import { RedisServer, redisAvailable, testConfig } from '@gtp/core/testing';
import { type NetworkProxy, PROFILES, startProxy, withConditions } from '@gtp/netem';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from '../server.ts';

/** Paced, so that the cut lands in the middle of the reply. */
const PACED = { simTtftMs: 0, simTokenDelayMs: 10 };
/** The head and a few lines: well inside a reply of dozens of lines. */
const CUT_AFTER_BYTES = 1_200;
const PROMPT = 'tell me about resumable streams, at length please, with every detail you know';

const servers: ChatServer[] = [];
const proxies: NetworkProxy[] = [];
afterEach(async () => {
  await Promise.all(proxies.splice(0).map((p) => p.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

interface Line {
  seq: number;
  type: string;
  messageId?: string;
  text?: string;
  replaying?: boolean;
}

async function serve(options: Parameters<typeof createServer>[0] = {}): Promise<string> {
  const server = await createServer({ config: testConfig(PACED), ...options });
  servers.push(server);
  return server.listen({ port: 0, host: '127.0.0.1' });
}

/** A proxy in front of `url` that resets the connection after `CUT_AFTER_BYTES` bytes down. */
async function cutting(url: string): Promise<string> {
  const proxy = await startProxy({
    target: { port: Number(new URL(url).port) },
    profile: withConditions(PROFILES.loopback, { cutAfterBytesDown: CUT_AFTER_BYTES }),
  });
  proxies.push(proxy);
  return `http://127.0.0.1:${proxy.port}`;
}

/** Every NDJSON line of an answer, until it ends or the connection breaks. */
async function lines(body: AsyncIterable<Buffer>): Promise<{ lines: Line[]; broken: boolean }> {
  const splitter = new LineSplitter();
  const out: Line[] = [];
  try {
    for await (const chunk of body)
      for (const line of splitter.push(chunk)) out.push(JSON.parse(line) as Line);
    return { lines: out, broken: false };
  } catch {
    return { lines: out, broken: true };
  }
}

async function createSession(url: string): Promise<string> {
  const response = await request(`${url}/sessions`, { method: 'POST' });
  return ((await response.body.json()) as { id: string }).id;
}

async function storedReply(url: string, id: string): Promise<string> {
  const response = await request(`${url}/sessions/${id}/messages`);
  const { messages } = (await response.body.json()) as { messages: { role: string; text: string }[] };
  return messages.at(-1)!.text;
}

/** POST through the cutting proxy: the lines that made it before the cut. */
async function sendAndGetCut(viaProxy: string, id: string): Promise<Line[]> {
  const response = await request(`${viaProxy}/sessions/${id}/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ text: PROMPT }),
  });
  expect(response.statusCode).toBe(200);
  const got = await lines(response.body);
  expect(got.broken || got.lines.at(-1)?.type !== 'done').toBe(true); // cut before the end
  expect(got.lines[0]).toMatchObject({ type: 'start' });
  return got.lines;
}

async function resume(url: string, id: string, messageId: string, after: number): Promise<Line[]> {
  const response = await request(`${url}/sessions/${id}/replies/${messageId}?after=${after}`);
  expect(response.statusCode).toBe(200);
  expect(response.headers['content-type']).toMatch(/application\/x-ndjson/);
  const got = await lines(response.body);
  expect(got.broken).toBe(false);
  return got.lines;
}

/** The text of deltas read in two parts, checking that no token came twice or was skipped. */
function joined(before: Line[], after: Line[]): string {
  const all = [...before, ...after].filter((l) => l.type !== 'reset');
  const seqs = all.map((l) => l.seq);
  expect(seqs).toEqual(seqs.map((_, i) => seqs[0]! + i)); // consecutive: none lost, none twice
  const deltas = all.filter((l) => l.type === 'delta');
  // A delta line is its seq, its type and its text: nothing the start already said.
  for (const d of deltas) expect(Object.keys(d)).toEqual(['seq', 'type', 'text']);
  expect(all.at(-1)).toMatchObject({ type: 'done', finishReason: 'stop' });
  return deltas.map((d) => d.text).join('');
}

describe('NDJSON resume after a cut connection', () => {
  it('every line carries its seq; GET …/replies/:messageId?after= gives the rest, live, and the text equals the stored reply', async () => {
    const url = await serve();
    const id = await createSession(url);
    const before = await sendAndGetCut(await cutting(url), id);
    const last = before.at(-1)!;
    const rest = await resume(url, id, before[0]!.messageId!, last.seq);
    expect(rest[0]!.seq).toBe(last.seq + 1);
    expect(joined(before, rest)).toBe(await storedReply(url, id));
  });

  it('Last-Event-ID works as `after`; a resume of a finished reply from its start replays it whole', async () => {
    const url = await serve();
    const id = await createSession(url);
    const before = await sendAndGetCut(await cutting(url), id);
    const messageId = before[0]!.messageId!;
    const response = await request(`${url}/sessions/${id}/replies/${messageId}`, {
      headers: { 'last-event-id': String(before.at(-1)!.seq) },
    });
    const rest = (await lines(response.body)).lines;
    expect(joined(before, rest)).toBe(await storedReply(url, id));
    // Later, from before its start: the whole reply again, from the log.
    const again = await resume(url, id, messageId, before[0]!.seq - 1);
    expect(joined([], again)).toBe(await storedReply(url, id));
  });

  it("past the log bound: `reset` (the reply's start is gone), its tail, and the whole text in the history", async () => {
    const config = testConfig(PACED);
    const chat = new ChatService({
      store: new MemorySessionStore(),
      // About 40 tokens, the cut after 6: paced so that the resume (a reset, then the live tail)
      // comes while the reply still runs, however loaded the machine (at 10 ms it could miss it).
      model: new SimulatedModel({ ttftMs: 0, tokenDelayMs: 100 }),
      replyLogSize: 4,
    });
    const url = await serve({ config, chat });
    const id = await createSession(url);
    const before = await sendAndGetCut(await cutting(url), id);
    const messageId = before[0]!.messageId!;
    // The first event is long gone from a log of 4 events.
    const rest = await resume(url, id, messageId, before[0]!.seq);
    expect(rest[0]).toMatchObject({ type: 'reset', replaying: false });
    expect(rest.at(-1)).toMatchObject({ type: 'done', messageId });
    const tail = rest
      .filter((l) => l.type === 'delta')
      .map((l) => l.text)
      .join('');
    const stored = await storedReply(url, id);
    expect(stored.endsWith(tail)).toBe(true);
    expect(
      stored.startsWith(
        before
          .filter((l) => l.type === 'delta')
          .map((l) => l.text)
          .join(''),
      ),
    ).toBe(true);
    // Over now: reset, not replaying, and nothing else; the text is the history's last model turn.
    const late = await resume(url, id, messageId, before[0]!.seq);
    expect(late).toEqual([expect.objectContaining({ type: 'reset', replaying: false })]);
  });

  it('a disconnect no longer cancels at once: a resume within the grace keeps the reply going', async () => {
    const url = await serve({ resumeGraceMs: 60_000 });
    const id = await createSession(url);
    const before = await sendAndGetCut(await cutting(url), id);
    const rest = await resume(url, id, before[0]!.messageId!, before.at(-1)!.seq);
    expect(rest.at(-1)).toMatchObject({ type: 'done', finishReason: 'stop' });
  });

  it('a second reader that comes and goes does not cancel the reply its first reader still reads', async () => {
    // A grace far shorter than the reply: were the second reader's leaving to start it, the
    // reply would be cancelled long before its end.
    const chat = new ChatService({
      store: new MemorySessionStore(),
      model: new SimulatedModel({ ttftMs: 0, tokenDelayMs: 40 }),
    });
    const url = await serve({ chat, resumeGraceMs: 50 });
    const id = await createSession(url);
    const post = await request(`${url}/sessions/${id}/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: PROMPT }),
    });
    const read: Line[] = [];
    let started!: (messageId: string) => void;
    const messageId = new Promise<string>((resolve) => {
      started = resolve;
    });
    const reading = (async () => {
      const splitter = new LineSplitter();
      for await (const chunk of post.body as AsyncIterable<Buffer>) {
        for (const line of splitter.push(chunk)) {
          read.push(JSON.parse(line) as Line);
          if (read.at(-1)!.type === 'start') started(read.at(-1)!.messageId!);
        }
      }
    })();
    const replyId = await messageId;
    // The server says when the second reader is gone (the grace's "stopped" announcement).
    let gone!: () => void;
    const stopped = new Promise<void>((resolve) => {
      gone = resolve;
    });
    const unsubscribe = await chat.broker.subscribe(REPLY_READERS_CHANNEL, (message) => {
      if (message === `stopped:${replyId}`) gone();
    });
    const second = await request(`${url}/sessions/${id}/replies/${replyId}?after=0`);
    expect(second.statusCode).toBe(200);
    for await (const _ of second.body) break; // one chunk, then the connection is dropped
    await Promise.race([stopped, reading]);
    await reading;
    await unsubscribe();
    await chat.close();
    expect(read.at(-1)).toMatchObject({ type: 'done', finishReason: 'stop' });
  });
});

describe.skipIf(!redisAvailable)('NDJSON resume across instances (REDIS_URL)', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await RedisServer.start();
  });
  afterAll(() => redis?.stop());

  it('cut on A, resumed on B: the text equals the stored reply', async () => {
    const config = testConfig({ ...PACED, redisUrl: redis.url });
    const a = await serve({ config });
    const b = await serve({ config });
    const id = await createSession(a);
    const before = await sendAndGetCut(await cutting(a), id);
    const rest = await resume(b, id, before[0]!.messageId!, before.at(-1)!.seq);
    expect(joined(before, rest)).toBe(await storedReply(b, id));
  });
});
