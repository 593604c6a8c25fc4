/**
 * Counts round trips as the client sees them: a round trip is the client sending something and
 * then receiving something (a change of direction, up → down, at the client's end of the link),
 * plus one for each TCP handshake. With several connections at once (SSE's stream beside its
 * POST, HTTP/2 pings beside data), flights overlap and the sum is an upper bound on the round
 * trips that cost time.
 */
import { Transform, type TransformCallback } from 'node:stream';

export class FlightCounter {
  #last: 'up' | 'down' | undefined;
  roundTrips = 0;
  bytesUp = 0;
  bytesDown = 0;

  /** A pass-through that records one direction at the client's end. */
  tap(direction: 'up' | 'down'): Transform {
    return new Transform({
      transform: (chunk: Buffer, _encoding, callback: TransformCallback) => {
        if (direction === 'down') {
          if (this.#last === 'up') this.roundTrips += 1;
          this.bytesDown += chunk.length;
        } else this.bytesUp += chunk.length;
        this.#last = direction;
        callback(null, chunk);
      },
    });
  }
}
