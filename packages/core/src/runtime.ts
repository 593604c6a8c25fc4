import { realpathSync } from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { DescribedAccess } from './access.ts';
import type { ChatService } from './chat-service.ts';
import { type Config, ConfigError } from './config.ts';
import { DEFAULT_PORTS, type Protocol } from './constants.ts';
import type { ModelInfo } from './events.ts';

/**
 * What every `createServer()` returns: the grpc-node `getServer()` / tRPC `{start, stop}` pattern.
 * Nothing listens until `listen()`; tests call `listen({ port: 0 })`.
 */
export interface ChatServer {
  readonly protocol: Protocol;
  readonly chat: ChatService;
  /** The gRPC server's GET /metrics listener (`http://host:port`), once listening; the HTTP servers serve /metrics themselves. */
  readonly metricsUrl?: string | undefined;
  /** Start listening; resolves to the address clients use (`http://host:port` or `host:port` for gRPC). */
  listen(options?: { port?: number; host?: string }): Promise<string>;
  /** Stop accepting, end the streams in flight, close. Idempotent. */
  close(): Promise<void>;
}

/** True when the module whose `import.meta.url` is given was started as the script (`tsx server.ts`). */
export function isMain(importMetaUrl: string): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(fileURLToPath(importMetaUrl)) === realpathSync(script);
  } catch {
    return false;
  }
}

export function describeModel(model: ModelInfo): string {
  return model.provider === 'gemini'
    ? `Gemini ${model.id} (GEMINI_API_KEY is set)`
    : `simulated model ${model.id} (offline; set GEMINI_API_KEY to use Gemini)`;
}

/**
 * Start a server as a script: listen on the configured (or the protocol's default) port, print
 * what is running, and shut down gracefully on SIGINT/SIGTERM, forcing the exit after the timeout.
 */
export async function runServer(
  server: ChatServer,
  config: Pick<Config, 'port' | 'host' | 'shutdownTimeoutMs'> & DescribedAccess,
): Promise<void> {
  const port = config.port ?? DEFAULT_PORTS[server.protocol];
  const inUse = () =>
    new ConfigError(`port ${port} is in use: is another server running? set PORT=… to use another port`);
  // Probe first: grpc-js logs its own bind failure to stderr before rejecting, so the real listen
  // failing would print more than this one line. The listen below still reports a port taken since.
  if (port !== 0 && !(await canListen(port, config.host))) {
    await server.close().catch(() => undefined);
    throw inUse();
  }
  let address: string;
  try {
    address = await server.listen({ port, host: config.host });
  } catch (error) {
    if (!isAddressInUse(error)) throw error;
    await server.close().catch(() => undefined);
    throw inUse();
  }
  console.log(`${server.protocol} server listening on ${address}`);
  console.log(`model: ${describeModel(server.chat.model.info)}`);
  // Who may call, and whom sessions belong to (without auth: everyone is one principal). Imported
  // here: a client imports this module for isMain/runMain and needs none of the access checks.
  const { describeAccess } = await import('./access.ts');
  console.log(describeAccess(config));
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    console.log(`${signal}: shutting down (ending streams in flight)…`);
    const force = setTimeout(() => {
      console.error(`shutdown took longer than ${config.shutdownTimeoutMs} ms; exiting anyway`);
      process.exit(0);
    }, config.shutdownTimeoutMs);
    force.unref();
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error('error during shutdown:', error);
        process.exit(1);
      },
    );
  };
  // `on`, not `once`: Ctrl+C under pnpm delivers SIGINT twice (from the terminal and forwarded by
  // pnpm), and a second signal must not kill the process mid-shutdown; the timeout bounds it.
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

/** Whether `port` on `host` is not taken right now (another process may still take it). */
function canListen(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createNetServer();
    // Anything but EADDRINUSE (EACCES, a bad host) is left for the real listen to report.
    probe.once('error', (error: NodeJS.ErrnoException) => resolve(error.code !== 'EADDRINUSE'));
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => resolve(true)));
  });
}

/** EADDRINUSE from a Node listen (`code`) or from grpc-js bindAsync (only in the message). */
function isAddressInUse(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return (error as NodeJS.ErrnoException).code === 'EADDRINUSE' || /EADDRINUSE/.test(error.message);
}

/**
 * Run a script's main function: a bad configuration or a port in use prints its one-line message
 * (no stack) and exits 1.
 */
export function runMain(main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    if (error instanceof ConfigError) console.error(error.message);
    else console.error(error);
    process.exit(1);
  });
}
