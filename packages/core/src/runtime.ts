import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
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
  config: Pick<Config, 'port' | 'host' | 'shutdownTimeoutMs'>,
): Promise<void> {
  const address = await server.listen({
    port: config.port ?? DEFAULT_PORTS[server.protocol],
    host: config.host,
  });
  console.log(`${server.protocol} server listening on ${address}`);
  console.log(`model: ${describeModel(server.chat.model.info)}`);
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
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
}

/** Run a script's main function: a bad configuration prints its message (no stack) and exits 1. */
export function runMain(main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    if (error instanceof ConfigError) console.error(error.message);
    else console.error(error);
    process.exit(1);
  });
}
