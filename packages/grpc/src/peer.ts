/**
 * The client's address from grpc-js's `call.getPeer()` (`<remoteAddress>:<remotePort>`), without
 * the port: `127.0.0.1:50312` → `127.0.0.1`, `::1:50312` or `[::1]:50312` → `::1`. Each connection
 * of a client has its own port, so counting by the port would give every new connection a fresh
 * budget. (A peer without a port, such as `unknown`, is kept as it is.)
 */
export function peerAddress(peer: string): string {
  const match = /^\[?(.+?)\]?:\d+$/.exec(peer);
  return match ? match[1]! : peer;
}
