import { PROTOCOLS } from '@gtp/core';
import { FakeGemini, testConfig } from '@gtp/core/testing';
import { describe, expect, it } from 'vitest';
import { formatCompare, runCompare } from '../src/compare.ts';

describe('pnpm compare', () => {
  it('runs one turn through all five protocols and gRPC-Web, and their replies agree', async () => {
    const progress: string[] = [];
    const result = await runCompare({
      turns: 1,
      config: testConfig(),
      onProgress: (line) => progress.push(line),
    });

    expect(result.skipped).toEqual([]);
    expect(result.rows.map((r) => r.protocol)).toEqual([...PROTOCOLS, 'grpc-web']);
    for (const row of result.rows) {
      expect(row.error, `${row.protocol}: ${row.error}`).toBeUndefined();
      for (const value of [
        row.connectMs,
        row.ttftMs,
        row.totalMs,
        row.chunks,
        row.wireBytesDown,
        row.wireBytesUp,
      ]) {
        expect(typeof value).toBe('number');
      }
      expect(row.chunks).toBeGreaterThan(0);
      // Bytes counted on the sockets: the reply text itself must have crossed the wire.
      expect(row.wireBytesDown).toBeGreaterThan(Buffer.byteLength(row.turns[0]!.text));
      expect(row.turns[0]!.text).toMatch(/^Turn 1: you said/);
    }
    expect(result.agree).toBe(true);
    // Streaming protocols deliver the reply in several chunks; REST in one.
    expect(result.rows.find((r) => r.protocol === 'rest')!.chunks).toBe(1);
    expect(result.rows.find((r) => r.protocol === 'websocket')!.chunks).toBeGreaterThan(1);
    expect(result.rows.find((r) => r.protocol === 'grpc-web')!.chunks).toBeGreaterThan(1);

    const table = formatCompare(result);
    for (const protocol of [...PROTOCOLS, 'grpc-web']) expect(table).toContain(protocol);
    expect(table).toContain('replies agree: yes');
    expect(progress.some((line) => line.includes('turn 1/1'))).toBe(true);
  });

  it('with a live model (Gemini wire, local fake) it reports agreement as n/a, never "yes"', async () => {
    let n = 0;
    const fake = new FakeGemini(() => ({ chunks: [`Reply `, `number ${++n}.`] }));
    const previous = process.env.GOOGLE_GEMINI_BASE_URL;
    process.env.GOOGLE_GEMINI_BASE_URL = await fake.start();
    try {
      const result = await runCompare({
        protocols: ['rest', 'websocket'],
        turns: 1,
        config: testConfig({ provider: 'gemini', geminiApiKey: 'test-key', modelId: 'gemini-test' }),
        onProgress: () => undefined,
      });
      expect(result.model.provider).toBe('gemini');
      expect(result.rows.map((r) => r.turns[0]?.text)).toEqual(['Reply number 1.', 'Reply number 2.']);
      expect(result.agree).toBe('n/a (live model)');
      expect(formatCompare(result)).toContain('replies agree: n/a (live model)');
    } finally {
      if (previous === undefined) delete process.env.GOOGLE_GEMINI_BASE_URL;
      else process.env.GOOGLE_GEMINI_BASE_URL = previous;
      await fake.stop();
    }
  });
});
