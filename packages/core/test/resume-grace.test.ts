/**
 * The resume grace (src/resume-grace.ts), on its own: a held reply is cancelled once the grace
 * passes with nobody reading it; resuming readers (on this instance or another one sharing the
 * broker) pause it, and the last of them to stop re-arms it. Fake timers: the grace is counted,
 * not waited for.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  type Broker,
  LocalBroker,
  REPLY_READERS_CHANNEL,
  RESUME_GRACE_MS,
  ResumeGraces,
} from '../src/index.ts';

const GRACE_MS = 1_000;

/** A reply that has not ended, and a way to end it. */
function runningReply() {
  let end!: () => void;
  const finished = new Promise<void>((resolve) => {
    end = resolve;
  });
  return { finished, end, cancel: vi.fn() };
}

describe('ResumeGraces', () => {
  let broker: LocalBroker;
  const open: ResumeGraces[] = [];
  const graces = async (on: Broker = broker, graceMs = GRACE_MS) => {
    const created = await ResumeGraces.create(on, graceMs);
    open.push(created);
    return created;
  };

  beforeEach(() => {
    vi.useFakeTimers();
    broker = new LocalBroker();
  });
  afterEach(async () => {
    for (const created of open.splice(0)) await created.close();
    await broker.close();
    vi.useRealTimers();
  });

  it('defaults to 10 s, the grace every transport documents', () => {
    expect(RESUME_GRACE_MS).toBe(10_000);
  });

  it('cancels a held reply once the grace passes with nobody reading it, and only then', async () => {
    const here = await graces();
    const reply = runningReply();
    here.hold('m1', reply.finished, reply.cancel);
    vi.advanceTimersByTime(GRACE_MS - 1);
    expect(reply.cancel).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(reply.cancel).toHaveBeenCalledTimes(1);
  });

  it('a reply that ends by itself is not cancelled', async () => {
    const here = await graces();
    const reply = runningReply();
    here.hold('m1', reply.finished, reply.cancel);
    reply.end();
    await reply.finished;
    await Promise.resolve(); // the release runs on the promise's settling
    vi.advanceTimersByTime(GRACE_MS * 10);
    expect(reply.cancel).not.toHaveBeenCalled();
  });

  it('a resuming reader pauses the grace; when it stops, the grace starts again from the whole', async () => {
    const here = await graces();
    const reply = runningReply();
    here.hold('m1', reply.finished, reply.cancel);
    vi.advanceTimersByTime(GRACE_MS - 10);
    await here.resumed('m1');
    vi.advanceTimersByTime(GRACE_MS * 10);
    expect(reply.cancel).not.toHaveBeenCalled();
    await here.stopped('m1');
    vi.advanceTimersByTime(GRACE_MS - 1);
    expect(reply.cancel).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(reply.cancel).toHaveBeenCalledTimes(1);
  });

  it('counts readers: the grace re-arms only when the last one stops', async () => {
    const here = await graces();
    const reply = runningReply();
    here.hold('m1', reply.finished, reply.cancel);
    await here.resumed('m1');
    await here.resumed('m1');
    await here.stopped('m1');
    vi.advanceTimersByTime(GRACE_MS * 10);
    expect(reply.cancel).not.toHaveBeenCalled();
    await here.stopped('m1');
    vi.advanceTimersByTime(GRACE_MS);
    expect(reply.cancel).toHaveBeenCalledTimes(1);
  });

  it('a reader that started before the hold (the first reader still attached) keeps the grace from starting', async () => {
    const here = await graces();
    const reply = runningReply();
    await here.resumed('m1');
    here.hold('m1', reply.finished, reply.cancel);
    vi.advanceTimersByTime(GRACE_MS * 10);
    expect(reply.cancel).not.toHaveBeenCalled();
    await here.stopped('m1');
    vi.advanceTimersByTime(GRACE_MS);
    expect(reply.cancel).toHaveBeenCalledTimes(1);
  });

  it('hears readers of another instance on the same broker, and only for their reply', async () => {
    const a = await graces();
    const b = await graces();
    const one = runningReply();
    const two = runningReply();
    a.hold('m1', one.finished, one.cancel);
    a.hold('m2', two.finished, two.cancel);
    await b.resumed('m1');
    vi.advanceTimersByTime(GRACE_MS);
    expect(one.cancel).not.toHaveBeenCalled();
    expect(two.cancel).toHaveBeenCalledTimes(1);
    await b.stopped('m1');
    vi.advanceTimersByTime(GRACE_MS);
    expect(one.cancel).toHaveBeenCalledTimes(1);
  });

  it('with the broker away, this instance still hears its own readers', async () => {
    const down: Broker = {
      kind: 'redis',
      publish: () => Promise.reject(new Error('connection refused')),
      subscribe: async () => async () => undefined,
      ping: async () => false,
      close: async () => undefined,
    };
    const here = await graces(down);
    const reply = runningReply();
    here.hold('m1', reply.finished, reply.cancel);
    await here.resumed('m1');
    vi.advanceTimersByTime(GRACE_MS * 10);
    expect(reply.cancel).not.toHaveBeenCalled();
    await here.stopped('m1');
    vi.advanceTimersByTime(GRACE_MS);
    expect(reply.cancel).toHaveBeenCalledTimes(1);
  });

  it('close() ends every grace without cancelling, and stops listening to the broker', async () => {
    const here = await graces();
    const reply = runningReply();
    here.hold('m1', reply.finished, reply.cancel);
    await here.close();
    vi.advanceTimersByTime(GRACE_MS * 10);
    expect(reply.cancel).not.toHaveBeenCalled();
    // Unsubscribed: a later announcement reaches nobody here (and does not throw).
    await broker.publish(REPLY_READERS_CHANNEL, 'stopped:m1');
    vi.advanceTimersByTime(GRACE_MS * 10);
    expect(reply.cancel).not.toHaveBeenCalled();
  });
});
