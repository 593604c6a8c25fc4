import { createServer, type Server } from 'node:http';
import type { ChatService } from './chat-service.ts';
import type { DependencyProbe } from './metrics.ts';

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
 */
export async function startMetricsServer(options: {
  chat: ChatService;
  port: number;
  host: string;
}): Promise<{ url: string; close(): Promise<void> }> {
  const { chat } = options;
  const probe = dependencyProbe(chat);
  const server: Server = createServer((request, response) => {
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
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
