/** Closing a connection without trusting the peer to finish the closing handshake. */
import type { WebSocket } from 'ws';

/** How long a closing handshake may take before the socket is destroyed (a peer that stopped reading). */
export const CLOSE_HANDSHAKE_TIMEOUT_MS = 2_000;

/**
 * Start the closing handshake; a peer that does not answer (it stopped reading: the close frame
 * waits behind everything still buffered) is dropped after CLOSE_HANDSHAKE_TIMEOUT_MS.
 */
export function closeWithin(ws: WebSocket, code: number, reason: string): void {
  ws.close(code, reason);
  const timer = setTimeout(() => ws.terminate(), CLOSE_HANDSHAKE_TIMEOUT_MS);
  ws.once('close', () => clearTimeout(timer));
}
