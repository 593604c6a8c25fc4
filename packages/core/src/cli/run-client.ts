import { parseArgs } from 'node:util';
import { DEFAULT_HOST, DEFAULT_PORTS, type Protocol } from '../constants.ts';
import { readCaFile } from '../tls.ts';
import { describeError, Shell } from './shell.ts';
import type { ClientAdapter } from './types.ts';
import { WireTrace } from './wire-trace.ts';

/** The server a client talks to by default: the protocol's port on loopback. */
export function defaultTarget(protocol: Protocol): string {
  const port = DEFAULT_PORTS[protocol];
  return protocol === 'grpc' ? `${DEFAULT_HOST}:${port}` : `http://${DEFAULT_HOST}:${port}`;
}

/** What runClient hands a protocol's adapter factory. */
export interface AdapterOptions {
  /** AUTH_TOKEN of the server (from `--token` or the AUTH_TOKEN environment variable). */
  token?: string;
  /** Where the transport reports what crosses the wire (`--trace`, `/trace on|off`). */
  trace?: WireTrace;
  /** The CA to trust besides the system's (`--ca`, TLS_CA_FILE), PEM; gRPC: its presence turns TLS on. */
  ca?: Buffer;
}

/** The client's flags, one line each; `--help` prints them. */
export function clientUsage(protocol: Protocol): string {
  return [
    `usage: pnpm client ${protocol} [options]`,
    '',
    'A chat shell over one transport: type a message, or /help for the commands.',
    'Reads messages and /commands from stdin when it is not a terminal (one per line).',
    '',
    'options:',
    `  -u, --url <url>        the server (default ${defaultTarget(protocol)})`,
    '  -s, --session <id>     join this session instead of creating one',
    "  -t, --token <token>    the server's AUTH_TOKEN, sent as Authorization: Bearer",
    '      --ca <file>        trust this CA certificate (PEM) for https:// and wss:// (gRPC: connect over TLS)',
    '      --trace            print what crosses the wire, dimmed and timestamped (/trace on|off)',
    '  -h, --help             this text',
    '',
    'environment:',
    '  SERVER_URL             the server, when --url is not given',
    '  AUTH_TOKEN             the token, when --token is not given',
    '  TLS_CA_FILE            the CA certificate, when --ca is not given',
    '  NO_COLOR, FORCE_COLOR  turn colours off, or force them (FORCE_COLOR=0 also turns them off)',
  ].join('\n');
}

/** A clear line for a bad flag value, or undefined when the target is usable. */
export function targetProblem(protocol: Protocol, target: string): string | undefined {
  if (protocol === 'grpc') {
    // grpc-js takes host:port (or a grpc://, dns:, unix: target); refuse what is obviously a URL of another kind.
    if (/^https?:\/\//.test(target)) return undefined;
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(target) && !target.startsWith('grpc://'))
      return `--url ${target}: the gRPC client takes host:port, e.g. ${defaultTarget(protocol)}`;
    return undefined;
  }
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    return `--url ${target} is not a URL; it needs a scheme, e.g. ${defaultTarget(protocol)}`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return `--url ${target} needs an http:// or https:// scheme, e.g. ${defaultTarget(protocol)}`;
  }
  return undefined;
}

/**
 * A client.ts's main: parse `--url` (or SERVER_URL), `--session`, `--token` (or AUTH_TOKEN) and
 * `--trace`, build the adapter, run the shell, close the adapter. A bad flag is one line and exit
 * 2; `--help` prints the usage and exits 0; a server that cannot be reached exits 1.
 */
export function runClient(
  protocol: Protocol,
  createAdapter: (target: string, options: AdapterOptions) => ClientAdapter | Promise<ClientAdapter>,
  argv: string[] = process.argv.slice(2),
): void {
  const parsed = parseClientArgs(protocol, argv);
  if ('exitCode' in parsed) {
    (parsed.exitCode === 0 ? console.log : console.error)(parsed.message);
    process.exit(parsed.exitCode);
  }
  const { target, session, token, trace, ca } = parsed;
  void (async () => {
    let adapter: ClientAdapter | undefined;
    try {
      adapter = await createAdapter(target, {
        ...(token ? { token } : {}),
        ...(ca ? { ca } : {}),
        trace: new WireTrace({ enabled: trace }),
      });
      await new Shell(adapter, session ? { sessionId: session } : {}).run();
      await adapter.close();
      process.exit(0);
    } catch (error) {
      console.error(describeError(error));
      await adapter?.close().catch(() => undefined);
      process.exit(1);
    }
  })();
}

export type ClientArgs =
  | { target: string; session: string | undefined; token: string | undefined; trace: boolean; ca?: Buffer }
  | { exitCode: 0 | 2; message: string };

/** The flags as values, or what to print and the exit code (`--help`: 0, a bad flag: 2). */
export function parseClientArgs(
  protocol: Protocol,
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
): ClientArgs {
  let values: {
    url?: string;
    session?: string;
    token?: string;
    trace?: boolean;
    help?: boolean;
    ca?: string;
  };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        url: { type: 'string', short: 'u' },
        session: { type: 'string', short: 's' },
        token: { type: 'string', short: 't' },
        trace: { type: 'boolean' },
        ca: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: false,
      strict: true,
    }));
  } catch (error) {
    // parseArgs says e.g. "Unknown option '--bogus'. To specify a positional argument starting
    // with a '-', place it at the end of the command after '--', as in '-- \"--bogus\"": keep its
    // first sentence, drop the stack.
    const message = (error instanceof Error ? error.message : String(error)).split('. ')[0];
    return { exitCode: 2, message: `${message} (pnpm client ${protocol} --help lists the options)` };
  }
  if (values.help) return { exitCode: 0, message: clientUsage(protocol) };
  const target = values.url ?? env.SERVER_URL ?? defaultTarget(protocol);
  const problem = targetProblem(protocol, target);
  if (problem) return { exitCode: 2, message: problem };
  const caFile = values.ca ?? (env.TLS_CA_FILE || undefined);
  let ca: Buffer | undefined;
  try {
    ca = caFile === undefined ? undefined : readCaFile(caFile, values.ca ? '--ca' : 'TLS_CA_FILE');
  } catch (error) {
    return { exitCode: 2, message: error instanceof Error ? error.message : String(error) };
  }
  return {
    ...(ca ? { ca } : {}),
    target,
    session: values.session,
    token: values.token ?? (env.AUTH_TOKEN || undefined),
    trace: values.trace ?? false,
  };
}

/** Run the shell over an adapter (tests drive it with streams). */
export function runShell(
  adapter: ClientAdapter,
  options: ConstructorParameters<typeof Shell>[1] = {},
): Promise<void> {
  return new Shell(adapter, options).run();
}
