/**
 * A one-line progress bar on a TTY (redrawn in place), plain lines otherwise. Hand-written: it
 * is twenty lines, and the libraries for it bring more than the harness needs.
 */
export interface ProgressBar {
  update(done: number, total: number, label: string): void;
  /** A line above the bar. */
  log(line: string): void;
  done(): void;
}

const WIDTH = 28;

export function progressBar(stream: NodeJS.WriteStream): ProgressBar {
  const tty = Boolean(stream.isTTY);
  const started = performance.now();
  let last = '';
  const render = (done: number, total: number, label: string) => {
    const filled = total ? Math.round((WIDTH * done) / total) : 0;
    const s = Math.round((performance.now() - started) / 1000);
    return `[${'#'.repeat(filled)}${'-'.repeat(WIDTH - filled)}] ${done}/${total} ${s}s ${label}`;
  };
  return {
    update(done, total, label) {
      last = render(done, total, label);
      if (tty) stream.write(`\r\x1b[2K${last}`);
      else stream.write(`${last}\n`);
    },
    log(line) {
      if (tty) stream.write(`\r\x1b[2K${line}\n${last}`);
      else stream.write(`${line}\n`);
    },
    done() {
      if (tty) stream.write('\n');
    },
  };
}
