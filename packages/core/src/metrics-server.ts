import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createSecureServer, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import type { Socket } from 'node:net';
import type { ChatService } from './chat-service.ts';
import type { DependencyProbe } from './metrics.ts';
import type { ServerTls } from './tls.ts';

/** The dependency and session gauges of a service, asked at scrape time. */
export function dependencyProbe(chat: ChatService): DependencyProbe {
  return {
    kinds: { store: chat.store.kind, broker: chat.broker.kind },
    ping: () => chat.dependencies(),
    sessions: () => chat.store.count(),
  };
}

/**
 * A small HTTP listener that answers GET /metrics, for the server that has no HTTP routes of its
 * own (gRPC, on METRICS_PORT). Everything else is a 404. Resolves to its `http://host:port`.
 * With `tls` (TLS_CERT_FILE + TLS_KEY_FILE, the server's own pair) it is HTTPS, HTTP/2 with
 * HTTP/1.1 by ALPN as on the HTTP servers, and its URL `https://…`.
 */
export async function startMetricsServer(options: {
  chat: ChatService;
  port: number;
  host: string;
  tls?: ServerTls | undefined;
}): Promise<{ url: string; close(): Promise<void> }> {
  const { chat, tls } = options;
  const probe = dependencyProbe(chat);
  const handle = (
    request: IncomingMessage | Http2ServerRequest,
    response: ServerResponse | Http2ServerResponse,
  ) => {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET' || path !== '/metrics') {
      response.writeHead(404, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify({ error: { code: 'not_found', message: `no route ${request.method} ${path}` } }),
      );
      return;
    }
    chat.stats.metrics.scrape(probe).then(
      (text) => {
        response.writeHead(200, { 'content-type': chat.stats.metrics.contentType });
        response.end(text);
      },
      () => {
        response.writeHead(500, { 'content-type': 'text/plain' });
        response.end('cannot collect the metrics\n');
      },
    );
  };
  const server = tls
    ? createSecureServer({ allowHTTP1: true, key: tls.key, cert: tls.cert }, handle)
    : createServer(handle);
  // Kept to cut on close (an HTTP/2 server has no closeAllConnections).
  const sockets = new Set<Socket>();
  server.on(tls ? 'secureConnection' : 'connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `${tls ? 'https' : 'http'}://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
