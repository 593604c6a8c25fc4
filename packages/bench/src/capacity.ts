/**
 * The capacity search: the largest number of concurrent streams a server sustains. N steps up by
 * doubling (100, 200, 400, 800, 1,600, …) until a trial fails or the ceiling is reached, then
 * bisects between the last N that passed and the first that failed until the gap is within
 * `precision` of the lower one. The search is a stepper (`next()` / `record()`), so the bench can
 * run a server's search and its floor's in lock-step, one trial of each in turn; `findCapacity`
 * runs one search to the end with a `measure()`.
 */

export interface CapacityOptions {
  /** The first N tried (and the doubling's base). */
  start: number;
  /** The largest N tried; a server that passes it is reported as ≥ this. */
  max: number;
  /** Stop bisecting when (failed − passed) ≤ precision × passed (and never below one stream). */
  precision: number;
}

export interface CapacityTrial {
  streams: number;
  ok: boolean;
}

export interface CapacityResult {
  /** The largest N that passed; 0 when even the smallest failed. */
  streams: number;
  /** True when the ceiling passed: the capacity is at least `streams`, perhaps more. */
  atCeiling: boolean;
  /** The smallest N that failed, when one did. */
  firstFailed: number | null;
  trials: CapacityTrial[];
}

export class CapacitySearch {
  readonly #options: CapacityOptions;
  readonly trials: CapacityTrial[] = [];
  #passed = 0;
  #failed: number | null = null;

  constructor(options: CapacityOptions) {
    if (options.start < 1 || options.max < options.start) throw new Error('capacity: need 1 ≤ start ≤ max');
    this.#options = options;
  }

  /** The next N to try, or undefined when the search is over. */
  next(): number | undefined {
    const { start, max, precision } = this.#options;
    if (this.#failed === null) {
      if (this.trials.length === 0) return start;
      if (this.#passed >= max) return undefined;
      return Math.min(max, this.#passed * 2);
    }
    const gap = this.#failed - this.#passed;
    if (gap <= Math.max(1, precision * this.#passed)) return undefined;
    return this.#passed + Math.floor(gap / 2);
  }

  record(streams: number, ok: boolean): void {
    this.trials.push({ streams, ok });
    if (ok) this.#passed = Math.max(this.#passed, streams);
    else this.#failed = this.#failed === null ? streams : Math.min(this.#failed, streams);
  }

  get done(): boolean {
    return this.next() === undefined;
  }

  result(): CapacityResult {
    return {
      streams: this.#passed,
      atCeiling: this.#failed === null && this.#passed >= this.#options.max,
      firstFailed: this.#failed,
      trials: [...this.trials],
    };
  }
}

/** Run one search to the end: `measure(n)` says whether n concurrent streams passed. */
export async function findCapacity(
  measure: (streams: number) => Promise<boolean>,
  options: CapacityOptions,
): Promise<CapacityResult> {
  const search = new CapacitySearch(options);
  for (let n = search.next(); n !== undefined; n = search.next()) search.record(n, await measure(n));
  return search.result();
}
