/**
 * The work still running, as a set of promises that forget themselves once settled: the turns
 * of the whole server (shutdown waits for them) and those of one Chat stream (its half-close
 * waits for them before ending the stream).
 */
export class InFlight {
  readonly #running = new Set<Promise<unknown>>();

  /** Remember `work` until it settles; returns it unchanged. */
  track<T>(work: Promise<T>): Promise<T> {
    const settled = work.catch(() => undefined);
    this.#running.add(settled);
    void settled.finally(() => this.#running.delete(settled));
    return work;
  }

  /** Resolves once everything tracked so far has settled (never rejects). */
  async settled(): Promise<void> {
    await Promise.allSettled(this.#running);
  }
}
