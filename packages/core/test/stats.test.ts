import { describe, expect, it } from 'vitest';
import { LatencyHistogram, percentile, Stats } from '../src/index.ts';

describe('Stats', () => {
  it('computes nearest-rank percentiles', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(sorted, 50)).toBe(50);
    expect(percentile(sorted, 95)).toBe(95);
    expect(percentile(sorted, 99)).toBe(99);
    expect(percentile([], 50)).toBe(0);
    const h = new LatencyHistogram();
    for (const v of [5, 1, 3, 2, 4]) h.record(v);
    expect(h.summary()).toMatchObject({ count: 5, p50: 3, max: 5, mean: 3 });
  });

  it('counts streams, connections, turns, errors and bytes in one shape', () => {
    const stats = new Stats('rest');
    const endStream = stats.streamOpened();
    const endConnection = stats.connectionOpened();
    stats.recordTurn('completed', { ttftMs: 10, totalMs: 100 });
    stats.recordTurn('cancelled');
    stats.recordError('session_busy');
    stats.addBytesSent(10);
    stats.addBytesReceived(4);
    expect(stats.snapshot(2)).toMatchObject({
      protocol: 'rest',
      sessions: { active: 2 },
      streams: { active: 1, total: 1 },
      connections: { active: 1, total: 1 },
      turns: { completed: 1, cancelled: 1, failed: 0 },
      errors: { total: 1, byCode: { session_busy: 1 } },
      bytes: { sent: 10, received: 4 },
      latencyMs: { ttft: { p50: 10 }, total: { p50: 100 } },
    });
    endStream();
    endStream();
    endConnection();
    expect(stats.snapshot(0).streams.active).toBe(0);
    expect(stats.snapshot(0).connections.active).toBe(0);
  });
});
