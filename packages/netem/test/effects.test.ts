/** Each effect alone, as a stream transform: what it lets through, in what order, and when. */
import { Readable, type Transform } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Bandwidth, Cut, Handshake, IdleTimer, Latency, Stall } from '../src/index.ts';

/** Write chunks through a transform; collect what comes out, with arrival times. */
async function run(transform: Transform, chunks: Buffer[], gapMs = 0) {
  const out: { at: number; chunk: Buffer }[] = [];
  const t0 = performance.now();
  transform.on('data', (chunk: Buffer) => out.push({ at: performance.now() - t0, chunk }));
  const ended = new Promise<void>((resolve, reject) => {
    transform.once('end', resolve);
    transform.once('error', reject);
  });
  for (const chunk of chunks) {
    if (!transform.write(chunk)) await new Promise((r) => transform.once('drain', r));
    if (gapMs) await new Promise((r) => setTimeout(r, gapMs));
  }
  transform.end();
  await ended;
  return { out, elapsedMs: performance.now() - t0 };
}

const numbered = (n: number) => Array.from({ length: n }, (_, i) => Buffer.from(`${i},`));

describe('Latency', () => {
  it('delays every chunk by at least its latency and keeps the order under jitter', async () => {
    const { out } = await run(new Latency({ latencyMs: 60, jitterMs: 50 }), numbered(40), 1);
    expect(Buffer.concat(out.map((o) => o.chunk)).toString()).toBe(numbered(40).join(''));
    // The first chunk left at t≈0: with −50 ms of jitter it still waits ≥ 10 ms.
    expect(out[0]!.at).toBeGreaterThanOrEqual(9);
    expect(out.at(-1)!.at).toBeLessThan(5_000);
  });

  it('a handshake holds the first bytes for one round trip, later ones not more', async () => {
    const { out } = await run(new Handshake(120), [Buffer.from('a'), Buffer.from('b')]);
    expect(out.map((o) => o.chunk.toString())).toEqual(['a', 'b']);
    expect(out[0]!.at).toBeGreaterThanOrEqual(115);
  });
});

describe('Stall', () => {
  it('holds chunks with the given probability, and those behind them wait (nothing lost)', async () => {
    let i = 0;
    // Deterministic: every third chunk is "lost" and retransmitted 100 ms later.
    const stall = new Stall({ probability: 0.5, stallMs: 100, random: () => (i++ % 3 === 0 ? 0 : 0.9) });
    const { out, elapsedMs } = await run(stall, numbered(9));
    expect(stall.stalls).toBe(3);
    expect(Buffer.concat(out.map((o) => o.chunk)).toString()).toBe(numbered(9).join(''));
    // Head-of-line: the chunk after the first stalled one did not overtake it.
    expect(out[1]!.at).toBeGreaterThanOrEqual(out[0]!.at);
    expect(out[0]!.at).toBeGreaterThanOrEqual(95);
    expect(elapsedMs).toBeGreaterThanOrEqual(95);
  });

  it('with probability 0 it passes everything at once', async () => {
    const stall = new Stall({ probability: 0, stallMs: 10_000 });
    const { elapsedMs, out } = await run(stall, numbered(5));
    expect(stall.stalls).toBe(0);
    expect(out).toHaveLength(5);
    expect(elapsedMs).toBeLessThan(5_000);
  });
});

describe('Bandwidth', () => {
  it('paces bytes to the rate after the burst, and pushes back on the writer', async () => {
    // 400 kbit/s = 50 kB/s, 4 KiB burst: 40 kB need ≥ (40,000 − 4,096) / 50 ≈ 718 ms.
    const bw = new Bandwidth({ bitsPerSecond: 400_000, burstBytes: 4096 });
    const chunks = Array.from({ length: 10 }, () => Buffer.alloc(4000, 1));
    const { out, elapsedMs } = await run(bw, chunks);
    expect(out.reduce((n, o) => n + o.chunk.length, 0)).toBe(40_000);
    expect(elapsedMs).toBeGreaterThanOrEqual(650);
    expect(elapsedMs).toBeLessThan(10_000);
  });

  it('splits a chunk larger than the bucket', async () => {
    const { out } = await run(new Bandwidth({ bitsPerSecond: 8_000_000, burstBytes: 1000 }), [
      Buffer.alloc(3500),
    ]);
    expect(out.map((o) => o.chunk.length)).toEqual([1000, 1000, 1000, 500]);
  });
});

describe('Cut', () => {
  it('passes exactly N bytes, then emits cut', async () => {
    const cut = new Cut({ afterBytes: 10 });
    let cuts = 0;
    cut.on('cut', () => cuts++);
    const { out } = await run(cut, [Buffer.from('0123456'), Buffer.from('789abcdef'), Buffer.from('x')]);
    expect(Buffer.concat(out.map((o) => o.chunk)).toString()).toBe('0123456789');
    await new Promise((r) => setImmediate(r));
    expect(cuts).toBe(1);
  });

  it('cuts after T ms even with no bytes', async () => {
    const t0 = performance.now();
    const cut = new Cut({ afterMs: 50 });
    const at = await new Promise<number>((resolve) => {
      cut.once('cut', () => resolve(performance.now() - t0));
    });
    expect(at).toBeGreaterThanOrEqual(45);
    cut.destroy();
  });
});

describe('IdleTimer', () => {
  it('fires after the time-out with no activity, and activity through tap() postpones it', async () => {
    const timer = new IdleTimer(150);
    const tap = timer.tap();
    tap.resume();
    let fired = false;
    timer.once('idle', () => (fired = true));
    for (let i = 0; i < 6; i++) {
      tap.write(Buffer.from('x'));
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(fired).toBe(false);
    await new Promise<void>((r) => timer.once('idle', () => r()));
    expect(timer.expired).toBe(true);
    Readable.from([]).pipe(tap);
  });
});
