import type { Writable } from 'node:stream';

/**
 * Write one chunk and wait while the stream's buffer is full (back-pressure): resolves at once
 * when `write()` says there is room, else on `drain`, or on `close` (the peer went away; the
 * caller then sees the stream destroyed and stops). Works for any Writable: a raw HTTP response,
 * a grpc-js call.
 */
export function writeWithBackpressure(stream: Writable, chunk: unknown): Promise<void> {
  return new Promise((resolve) => {
    if (stream.write(chunk)) {
      resolve();
      return;
    }
    const done = () => {
      stream.off('drain', done);
      stream.off('close', done);
      resolve();
    };
    stream.once('drain', done);
    stream.once('close', done);
  });
}
