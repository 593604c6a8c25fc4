import type { ChatEvent } from '@gtp/core';
import { describe, expect, it } from 'vitest';
import { parseEvent, readNdjson } from '../client.ts';

async function* chunksOf(...chunks: (string | Uint8Array)[]) {
  for (const chunk of chunks) yield chunk;
}

async function collect(chunks: AsyncIterable<string | Uint8Array>, onBytes?: (n: number) => void) {
  const events: ChatEvent[] = [];
  for await (const event of readNdjson(chunks, onBytes)) events.push(event);
  return events;
}

const start = { type: 'start', sessionId: 's', messageId: 'm' } as const;
const delta = (index: number, text: string) => ({ type: 'delta', messageId: 'm', index, text }) as const;
const line = (event: object) => `${JSON.stringify(event)}\n`;

describe('the NDJSON line parser', () => {
  it('joins a line split across several chunks', async () => {
    const text = line(start) + line(delta(0, 'hello'));
    const cut = [5, 17, text.indexOf('\n') + 1, text.length - 3];
    const pieces = [0, ...cut].map((from, i) => text.slice(from, [...cut, text.length][i]));
    expect(pieces.join('')).toBe(text);
    expect(pieces.length).toBe(5);
    expect(await collect(chunksOf(...pieces))).toEqual([start, delta(0, 'hello')]);
  });

  it('splits several lines in one chunk', async () => {
    const events = [start, delta(0, 'a'), delta(1, 'b'), delta(2, 'c')];
    expect(await collect(chunksOf(events.map(line).join('')))).toEqual(events);
  });

  it('keeps a UTF-8 character split between two byte chunks whole', async () => {
    const bytes = new TextEncoder().encode(line(delta(0, 'café ☕')) + line(delta(1, 'ok')));
    const at = bytes.indexOf(0xe2) + 1; // inside the three bytes of ☕
    let counted = 0;
    const events = await collect(chunksOf(bytes.slice(0, at), bytes.slice(at)), (n) => {
      counted += n;
    });
    expect(events).toEqual([delta(0, 'café ☕'), delta(1, 'ok')]);
    expect(counted).toBe(bytes.byteLength);
  });

  it('ignores blank lines and CRLF, and keeps a last line without its newline', async () => {
    const events = await collect(
      chunksOf(`\r\n${JSON.stringify(start)}\r\n\n`, JSON.stringify(delta(0, 'x'))),
    );
    expect(events).toEqual([start, delta(0, 'x')]);
  });

  it('rejects a line that is not a ChatEvent', async () => {
    await expect(collect(chunksOf('{"type":"start"}\nnot json\n'))).rejects.toThrow(/not JSON: not json/);
    expect(() => parseEvent('[1,2]')).toThrow(/not a ChatEvent/);
  });
});
