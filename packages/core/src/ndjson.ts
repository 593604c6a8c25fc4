/**
 * Splits a byte stream into lines, buffering a partial line across chunks. Used by the
 * Streamable HTTP client (NDJSON) and anywhere else newline-delimited text arrives in pieces.
 */
export class LineSplitter {
  readonly #decoder = new TextDecoder();
  #buffer = '';

  /** Feed a chunk; returns the complete lines it finished (without their newline). */
  push(chunk: Uint8Array | string): string[] {
    this.#buffer += typeof chunk === 'string' ? chunk : this.#decoder.decode(chunk, { stream: true });
    const lines = this.#buffer.split('\n');
    this.#buffer = lines.pop() ?? '';
    return lines
      .map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line))
      .filter((line) => line.length > 0);
  }

  /** The end of the stream: the last line, if it had no newline. */
  flush(): string[] {
    const rest = (this.#buffer + this.#decoder.decode()).trim();
    this.#buffer = '';
    return rest ? [rest] : [];
  }
}
