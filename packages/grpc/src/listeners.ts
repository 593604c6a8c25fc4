/**
 * Where the server listens: the grpc-js server on its address (plaintext h2c, or TLS), and beside
 * it two small listeners of their own: GET /metrics (METRICS_PORT) and the same ChatService for
 * browsers, gRPC-Web and Connect (src/web.ts, port 8005). With port 0 (tests), every one of them
 * takes any free port.
 */
import { promisify } from 'node:util';
import type * as grpc from '@grpc/grpc-js';
import { type Config, startMetricsServer } from '@gtp/core';
import { serverCredentials } from './credentials.ts';
import { createWebServer, GRPC_WEB_DEFAULT_PORT, type WebServerOptions } from './web.ts';

/** Bind the grpc-js server; resolves with the address it listens on (`host:port`, IPv6 in brackets). */
export async function bindServer(
  server: grpc.Server,
  host: string,
  port: number,
  config: Config,
): Promise<string> {
  const shownHost = host.includes(':') ? `[${host}]` : host;
  const bind = promisify(server.bindAsync.bind(server));
  return `${shownHost}:${await bind(`${shownHost}:${port}`, serverCredentials(config.tls))}`;
}

/** The metrics and gRPC-Web/Connect listeners, started with the server and closed after it. */
export class SideListeners {
  readonly #options: WebServerOptions;
  readonly #webPort: number | undefined;
  readonly #web: ReturnType<typeof createWebServer>;
  #metrics: Awaited<ReturnType<typeof startMetricsServer>> | undefined;
  #webUrl: string | undefined;

  constructor(options: WebServerOptions & { webPort?: number | undefined }) {
    const { webPort, ...web } = options;
    this.#options = web;
    this.#webPort = webPort;
    this.#web = createWebServer(web);
  }

  get metricsUrl(): string | undefined {
    return this.#metrics?.url;
  }

  get webUrl(): string | undefined {
    return this.#webUrl;
  }

  /** `port` is the gRPC server's: 0 puts these on free ports too. */
  async listen(port: number, host: string): Promise<void> {
    const { chat, config } = this.#options;
    this.#metrics = await startMetricsServer({
      chat,
      port: port === 0 ? 0 : config.metricsPort,
      host,
      tls: config.tls,
    });
    this.#webUrl = await this.#web.listen(this.#webPort ?? (port === 0 ? 0 : GRPC_WEB_DEFAULT_PORT), host);
  }

  /** After the gRPC server stopped: what is still open on the web listener is cut. */
  async close(): Promise<void> {
    this.#web.closeAll();
    await this.#web.close();
    await this.#metrics?.close();
  }
}
