import { describe, expect, it } from 'vitest';
import { CapacitySearch, findCapacity } from '../src/capacity.ts';

describe('the capacity search', () => {
  it('finds where a fake load saturates, by doubling then bisecting', async () => {
    const saturatesAbove = 1_130;
    const tried: number[] = [];
    const result = await findCapacity(
      async (n) => {
        tried.push(n);
        return n <= saturatesAbove;
      },
      { start: 100, max: 12_800, precision: 0.02 },
    );
    expect(tried.slice(0, 6)).toEqual([100, 200, 400, 800, 1_600, 1_200]);
    expect(result.streams).toBeLessThanOrEqual(saturatesAbove);
    expect(result.streams).toBeGreaterThanOrEqual(saturatesAbove * 0.98);
    expect(result.firstFailed).toBeGreaterThan(saturatesAbove);
    expect(result.atCeiling).toBe(false);
    expect(result.trials.filter((t) => t.ok).every((t) => t.streams <= saturatesAbove)).toBe(true);
  });

  it('reports a load that never saturates as at the ceiling', async () => {
    const result = await findCapacity(async () => true, { start: 100, max: 800, precision: 0.1 });
    expect(result).toMatchObject({ streams: 800, atCeiling: true, firstFailed: null });
    expect(result.trials.map((t) => t.streams)).toEqual([100, 200, 400, 800]);
  });

  it('bisects below the first step when even that fails', async () => {
    const result = await findCapacity(async (n) => n <= 37, { start: 100, max: 800, precision: 0 });
    expect(result.streams).toBe(37);
    expect(result.firstFailed).toBe(38);
  });

  it('steps one search at a time, so two can run in lock-step', () => {
    const search = new CapacitySearch({ start: 10, max: 100, precision: 0.5 });
    expect(search.next()).toBe(10);
    search.record(10, true);
    expect(search.next()).toBe(20);
    search.record(20, false);
    expect(search.next()).toBe(15);
    search.record(15, true);
    expect(search.done).toBe(true);
    expect(search.result().streams).toBe(15);
  });
});
