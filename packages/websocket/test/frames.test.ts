import { ChatError } from '@gtp/core';
import { describe, expect, it } from 'vitest';
import { byteLength, parseFrame, protocolErrorCode } from '../src/frames.ts';
import { FrameRateLimit } from '../src/rate-limit.ts';

const text = (value: string) => Buffer.from(value, 'utf8');

function refusal(run: () => unknown): ChatError {
  try {
    run();
  } catch (error) {
    if (error instanceof ChatError) return error;
    throw error;
  }
  throw new Error('expected a ChatError');
}

describe('parseFrame', () => {
  it('reads a valid frame, whole or in fragments', () => {
    expect(parseFrame(text('{"type":"ping","ts":7}'), false)).toEqual({ type: 'ping', ts: 7 });
    const fragments = [text('{"type":"send",'), text('"text":"héllo"}')];
    expect(parseFrame(fragments, false)).toEqual({ type: 'send', text: 'héllo' });
  });

  it('says what is wrong with a bad frame', () => {
    const cases: [Buffer, boolean, RegExp][] = [
      [text('{"type":"ping","ts":1}'), true, /binary frames are not accepted/],
      [text('{"type":'), false, /^malformed JSON/],
      [text('[1,2]'), false, /a JSON object with a string "type"/],
      [text('{"type":3}'), false, /a JSON object with a string "type"/],
      [text('{"type":"shout"}'), false, /unknown frame type "shout"; expected one of join, send/],
    ];
    for (const [data, isBinary, message] of cases) {
      const error = refusal(() => parseFrame(data, isBinary));
      expect(error.code).toBe('invalid_request');
      expect(error.message).toMatch(message);
    }
    expect(refusal(() => parseFrame(text('{"type":"ping","ts":"now"}'), false)).code).toBe('invalid_request');
  });

  it('counts the bytes of a message and names the code of a protocol error', () => {
    expect(byteLength([text('ab'), text('é')])).toBe(4);
    expect(byteLength(text('abc'))).toBe(3);
    const tooBig = Object.assign(new RangeError('Max payload size exceeded'), {
      code: 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH',
    });
    expect(protocolErrorCode(tooBig)).toBe('payload_too_large');
    expect(protocolErrorCode(new Error('invalid UTF-8 sequence'))).toBe('invalid_request');
  });
});

describe('FrameRateLimit', () => {
  it('lets a burst of max through, refills at max per window, and calls a client that ignores it abusive', () => {
    const limit = new FrameRateLimit(2, 1_000, 0);
    expect([limit.take(0), limit.take(0), limit.take(0)]).toEqual([true, true, false]);
    expect(limit.take(500)).toBe(true); // one frame back after windowMs / max
    expect([limit.take(500), limit.take(500)]).toEqual([false, false]);
    expect(limit.abusive).toBe(false);
    expect(limit.take(500)).toBe(false);
    expect(limit.abusive).toBe(true); // more than max refused in a row
    expect(limit.take(1_000)).toBe(true);
    expect(limit.abusive).toBe(false);
    expect(limit.refusal()).toMatchObject({
      code: 'rate_limited',
      message: expect.stringMatching(/more than 2 frames in 1 s on this connection/),
    });
  });

  it('is off with RATE_LIMIT_MAX=0', () => {
    expect(FrameRateLimit.fromConfig({ rateLimitMax: 0, rateLimitWindowMs: 60_000 })).toBeUndefined();
    expect(FrameRateLimit.fromConfig({ rateLimitMax: 3, rateLimitWindowMs: 60_000 })?.max).toBe(3);
  });
});
