/**
 * `--trace`: what crossed the wire, one timestamped line per thing sent or received, with the
 * bytes counted per direction. Transports report to it (undici's diagnostics channels, ws's
 * upgrade and frames, grpc-js's serializers and interceptors); the shell prints it dimmed
 * beside the chat and toggles it with `/trace on|off`.
 */

export type TraceDirection = 'sent' | 'received' | 'note';

/** Where trace lines go (the shell sets it); before that they go to stderr. */
export type TraceSink = (line: string) => void;

const ARROWS: Record<TraceDirection, string> = { sent: '→', received: '←', note: '·' };
/** Payloads longer than this are cut in the trace (the byte counts stay exact). */
export const TRACE_PAYLOAD_MAX_CHARS = 600;

export class WireTrace {
  enabled: boolean;
  /** Bytes the transports reported, per direction, whether or not tracing is on. */
  bytesSent = 0;
  bytesReceived = 0;
  #sink: TraceSink = (line) => process.stderr.write(`${line}\n`);
  readonly #clock: () => Date;

  constructor(options: { enabled?: boolean; clock?: () => Date } = {}) {
    this.enabled = options.enabled ?? false;
    this.#clock = options.clock ?? (() => new Date());
  }

  attach(sink: TraceSink): void {
    this.#sink = sink;
  }

  /** Something sent: counted, and printed when tracing. `bytes` are the wire bytes it cost. */
  sent(bytes: number, title: string, detail: readonly string[] = []): void {
    this.bytesSent += bytes;
    this.#emit('sent', bytes, title, detail);
  }

  received(bytes: number, title: string, detail: readonly string[] = []): void {
    this.bytesReceived += bytes;
    this.#emit('received', bytes, title, detail);
  }

  /** Something that is not bytes (a connection opened, a stream ended). */
  note(title: string, detail: readonly string[] = []): void {
    this.#emit('note', undefined, title, detail);
  }

  #emit(
    direction: TraceDirection,
    bytes: number | undefined,
    title: string,
    detail: readonly string[],
  ): void {
    if (!this.enabled) return;
    const at = this.#clock().toISOString().slice(11, 23);
    const size = bytes === undefined ? '' : ` (${bytes} B)`;
    this.#sink(`${at} ${ARROWS[direction]} ${title}${size}`);
    for (const line of detail) this.#sink(`${' '.repeat(at.length)}   ${line}`);
  }
}

/** A payload as one printable line: control characters escaped, long ones cut. */
export function printable(text: string, max = TRACE_PAYLOAD_MAX_CHARS): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: escaping control characters is the point
  const escaped = text.replace(/[\u0000-\u001f\u007f]/g, (ch) =>
    ch === '\n'
      ? '\\n'
      : ch === '\r'
        ? '\\r'
        : ch === '\t'
          ? '\\t'
          : `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
  return escaped.length > max ? `${escaped.slice(0, max)}… (${escaped.length - max} more)` : escaped;
}

/** Bytes as hex pairs, grouped for reading: `0a 24 36 63 …`. */
export function hex(bytes: Uint8Array, max = 256): string {
  const shown = Buffer.from(bytes.subarray(0, max))
    .toString('hex')
    .replace(/(..)(?!$)/g, '$1 ');
  return bytes.length > max ? `${shown} … (${bytes.length - max} more bytes)` : shown;
}
