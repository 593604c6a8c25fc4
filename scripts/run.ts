/**
 * `pnpm serve <protocol>` and `pnpm client <protocol>`: run a protocol's server or client.
 *
 * One process. package.json starts `exec node scripts/launch.mjs …`, which runs this file from a
 * bundle of it and the protocols' modules (built from these sources when one changed: see
 * launch.mjs), so no TypeScript transpiler is loaded at run time. `exec` makes pnpm's `sh -c`
 * become node (dash does not do that by itself). The protocol's module is imported here rather
 * than spawned, so the chain is pnpm → node. pnpm forwards SIGTERM and SIGINT to its child and
 * waits for it; runServer ends the streams in flight and exits 0, and pnpm exits with that code.
 * From source, without the bundle: `node --import tsx scripts/run.ts serve <protocol>`.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type Config, ENV_DESCRIPTIONS, type Env, loadConfig } from '../packages/core/src/config.ts';
import { DEFAULT_PORTS, PROTOCOLS, type Protocol } from '../packages/core/src/constants.ts';
import type { ChatServer } from '../packages/core/src/runtime.ts';

const ROOT = join(import.meta.dirname, '..');
type Command = 'serve' | 'client';
/**
 * Where scripts/launch.mjs put the bundle this file is part of (esbuild's `define`); undefined
 * when it runs from source (`node --import tsx scripts/run.ts …`).
 */
declare const GTP_BUILT: string | undefined;
const BUILT = typeof GTP_BUILT === 'string' ? GTP_BUILT : undefined;

const envTable = (entries: [string, string][]): string => {
  const width = Math.max(...entries.map(([name]) => name.length));
  return entries.map(([name, description]) => `  ${name.padEnd(width)}  ${description}`).join('\n');
};

const protocolList = (): string =>
  PROTOCOLS.map((p) => `  ${p.padEnd(16)} default port ${DEFAULT_PORTS[p]}`).join('\n');

function serveUsage(protocol?: Protocol): string {
  return [
    `usage: pnpm serve ${protocol ?? '<protocol>'} [--help]`,
    '',
    protocol
      ? `Starts the ${protocol} server on 127.0.0.1:${DEFAULT_PORTS[protocol]}; SIGINT (Ctrl+C) or SIGTERM ends the streams in flight with a final event and exits 0.`
      : 'Starts one protocol server; SIGINT (Ctrl+C) or SIGTERM ends the streams in flight with a final event and exits 0.',
    ...(protocol ? [] : ['', 'protocols:', protocolList()]),
    '',
    'Configured by environment variables (e.g. PORT=18003 pnpm serve sse):',
    envTable(Object.entries(ENV_DESCRIPTIONS) as [keyof Env, string][]),
  ].join('\n');
}

/** run-client.ts's text for one protocol, made general: the options and environment are the same. */
async function clientUsage(): Promise<string> {
  const { clientUsage: forProtocol, defaultTarget } = await import('../packages/core/src/cli/run-client.ts');
  const [, ...body] = forProtocol('rest')
    .replace(defaultTarget('rest'), 'http://127.0.0.1:<port>, or 127.0.0.1:<port> for grpc')
    .split('\n');
  return ['usage: pnpm client <protocol> [options]', '', 'protocols:', protocolList(), ...body].join('\n');
}

/** A usage error: one line on stderr, exit 2 (the shell convention for a bad invocation). */
function fail(problem: string, command?: Command): never {
  const hint = command ? ` (pnpm ${command} --help lists them)` : '';
  console.error(`${problem}${hint}`);
  process.exit(2);
}

function protocolOf(name: string | undefined, command: Command): Protocol {
  if (!name) fail(`missing protocol: one of ${PROTOCOLS.join(', ')}`, command);
  if (!PROTOCOLS.includes(name as Protocol)) {
    fail(`unknown protocol "${name}": protocols: ${PROTOCOLS.join(', ')}`);
  }
  return name as Protocol;
}

function moduleOf(protocol: Protocol, command: Command): string {
  const file = join(ROOT, 'packages', protocol, command === 'serve' ? 'server.ts' : 'client.ts');
  if (!existsSync(file))
    fail(`packages/${protocol}/${command === 'serve' ? 'server' : 'client'}.ts does not exist`);
  return file;
}

/** What to import for a protocol's module: its source, or its built copy under the launcher. */
const built = (file: string): string =>
  BUILT ? join(BUILT, file.slice(ROOT.length).replace(/\.ts$/, '.mjs')) : file;

/** Every protocol's server.ts exports this. */
interface ServerModule {
  createServer(options: { config: Config }): Promise<ChatServer>;
}

async function serve(args: string[]): Promise<void> {
  let parsed: ReturnType<typeof parseServeArgs>;
  try {
    parsed = parseServeArgs(args);
  } catch (error) {
    fail((error as Error).message, 'serve');
  }
  const [name] = parsed.positionals;
  if (parsed.values.help) {
    console.log(serveUsage(name === undefined ? undefined : protocolOf(name, 'serve')));
    return;
  }
  if (parsed.positionals.length > 1) fail(`unexpected argument "${parsed.positionals[1]}"`, 'serve');
  const file = moduleOf(protocolOf(name, 'serve'), 'serve');
  // Imported here, not at the top: a client does not load what only a server needs.
  const { runMain, runServer } = await import('../packages/core/src/runtime.ts');
  runMain(async () => {
    const config = loadConfig();
    const { createServer } = (await import(built(file))) as ServerModule;
    await runServer(await createServer({ config }), config);
  });
}

function parseServeArgs(args: string[]) {
  return parseArgs({ args, options: { help: { type: 'boolean', short: 'h' } }, allowPositionals: true });
}

async function client(args: string[]): Promise<void> {
  const [name, ...rest] = args;
  if (name === undefined || name === '--help' || name === '-h') {
    if (name === undefined) fail(`missing protocol: one of ${PROTOCOLS.join(', ')}`, 'client');
    console.log(await clientUsage());
    return;
  }
  const file = moduleOf(protocolOf(name, 'client'), 'client');
  // client.ts runs its main when it is the script (isMain): make it the script, with its own
  // arguments, exactly as `node --import tsx packages/<p>/client.ts …` would see them.
  // (The built copy keeps the source's import.meta.url, so `file` is still the script's name.)
  process.argv = [process.argv[0]!, file, ...rest];
  await import(built(file));
}

const [command, ...args] = process.argv.slice(2);
if (command === 'serve') await serve(args);
else if (command === 'client') await client(args);
else fail(`unknown command "${command ?? ''}": serve or client`);
