import { parseArgs } from 'node:util';
import { DEFAULT_HOST, DEFAULT_PORTS, type Protocol } from '../constants.ts';
import { Shell } from './shell.ts';
import type { ClientAdapter } from './types.ts';

/** The server a client talks to by default: the protocol's port on loopback. */
export function defaultTarget(protocol: Protocol): string {
  const port = DEFAULT_PORTS[protocol];
  return protocol === 'grpc' ? `${DEFAULT_HOST}:${port}` : `http://${DEFAULT_HOST}:${port}`;
}

/**
 * A client.ts's main: parse `--url` (or SERVER_URL), `--session` and `--token` (or AUTH_TOKEN),
 * build the adapter, run the
 * shell, close the adapter. Exits 1 when the server cannot be reached.
 */
export interface AdapterOptions {
  /** AUTH_TOKEN of the server (from `--token` or the AUTH_TOKEN environment variable). */
  token?: string;
}

export function runClient(
  protocol: Protocol,
  createAdapter: (target: string, options: AdapterOptions) => ClientAdapter | Promise<ClientAdapter>,
): void {
  const { values } = parseArgs({
    options: {
      url: { type: 'string', short: 'u' },
      session: { type: 'string', short: 's' },
      token: { type: 'string', short: 't' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: false,
  });
  if (values.help) {
    console.log(
      `usage: pnpm client ${protocol} [--url ${defaultTarget(protocol)}] [--session <id>] [--token <AUTH_TOKEN>]\n` +
        'Reads messages and /commands from stdin; in a terminal it is an interactive shell (/help).',
    );
    return;
  }
  const target = values.url ?? process.env.SERVER_URL ?? defaultTarget(protocol);
  void (async () => {
    let adapter: ClientAdapter | undefined;
    try {
      const token = values.token ?? (process.env.AUTH_TOKEN || undefined);
      adapter = await createAdapter(target, token ? { token } : {});
      await new Shell(adapter, values.session ? { sessionId: values.session } : {}).run();
      await adapter.close();
      process.exit(0);
    } catch (error) {
      console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
      await adapter?.close().catch(() => undefined);
      process.exit(1);
    }
  })();
}

/** Run the shell over an adapter (tests drive it with streams). */
export function runShell(
  adapter: ClientAdapter,
  options: ConstructorParameters<typeof Shell>[1] = {},
): Promise<void> {
  return new Shell(adapter, options).run();
}
