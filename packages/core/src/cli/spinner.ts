import type { Writable } from 'node:stream';

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const FRAME_INTERVAL_MS = 80;

/** A one-line spinner for a TTY; does nothing when the output is not a terminal. */
export class Spinner {
  readonly #output: Writable;
  readonly #enabled: boolean;
  #timer: NodeJS.Timeout | undefined;
  #frame = 0;

  constructor(output: Writable, enabled: boolean) {
    this.#output = output;
    this.#enabled = enabled;
  }

  start(label: string): void {
    if (!this.#enabled || this.#timer) return;
    const startedAt = performance.now();
    const draw = () => {
      const seconds = ((performance.now() - startedAt) / 1000).toFixed(1);
      this.#output.write(`\r\x1b[K${FRAMES[this.#frame++ % FRAMES.length]} ${label} ${seconds}s`);
    };
    draw();
    this.#timer = setInterval(draw, FRAME_INTERVAL_MS);
  }

  stop(): void {
    if (!this.#timer) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#output.write('\r\x1b[K');
  }
}
