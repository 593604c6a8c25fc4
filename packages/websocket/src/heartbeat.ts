/**
 * Heartbeats, the pattern from the ws README: every interval the server sends a protocol-level
 * ping to each connection; one that has not answered with a pong since the previous tick is
 * dead (a peer gone without a FIN: a closed laptop, a NAT that forgot us) and is terminated,
 * without a close handshake it could not answer. Browsers and `ws` answer pings by themselves.
 */
import type { WebSocket, WebSocketServer } from 'ws';

export interface Heartbeat {
  /** Start watching a new connection. */
  watch(ws: WebSocket): void;
}

/** Ping every connection of `wss` each `intervalMs`; stops when `wss` closes. */
export function startHeartbeat(wss: WebSocketServer, intervalMs: number): Heartbeat {
  const alive = new WeakSet<WebSocket>();
  const timer = setInterval(() => {
    for (const ws of wss.clients) {
      if (!alive.has(ws)) {
        ws.terminate();
        continue;
      }
      alive.delete(ws);
      ws.ping();
    }
  }, intervalMs);
  wss.on('close', () => clearInterval(timer));
  return {
    watch(ws) {
      alive.add(ws);
      ws.on('pong', () => alive.add(ws));
    },
  };
}
