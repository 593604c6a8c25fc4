/**
 * Start-up and footprint, as the user runs them: `pnpm serve <p>` from process start to its
 * "listening on" line, the idle server's RSS (the node process that serves, and the whole process
 * tree pnpm included), and `pnpm client <p>` in a pseudo-terminal (`script` from util-linux) from
 * process start to its first prompt (both run scripts/launch.mjs's bundle, built first). For
 * comparison, the same server bundled with its dependencies into one file by the esbuild that tsx
 * ships, started with bare `node`.
 *
 *   pnpm bench --only startup [--protocols sse,grpc] [--merge]
 *   tsx packages/bench/src/startup.ts [--protocols sse,grpc] [--json]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, realpathSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { isMain, PROTOCOLS, type Protocol, runMain } from '@gtp/core';
import { PACKAGES_DIR, parseProtocols } from './protocols.ts';
import { round2 } from './turn.ts';

const REPO_ROOT = join(PACKAGES_DIR, '..');
const START_TIMEOUT_MS = 30_000;
/** How long the server idles after listening before its RSS is read. */
const IDLE_SETTLE_MS = 1_500;
const STOP_TIMEOUT_MS = 6_000;
/** The shell's prompt (packages/core/src/cli/shell.ts). */
const PROMPT = 'you ›';
const MIB = 1024 ** 2;

export interface StartupRow {
  protocol: Protocol;
  /** `pnpm serve <p>`: spawn → "listening on", ms. */
  serverStartMs: number | null;
  /** RSS of the node process that serves, idle, MiB. */
  serverRssMiB: number | null;
  /** RSS of every process of `pnpm serve <p>` (pnpm's own node included), MiB. */
  treeRssMiB: number | null;
  processes: number | null;
  /** `pnpm client <p>` in a terminal: spawn → first prompt, ms. */
  clientPromptMs: number | null;
  /** The same server bundled to plain JS (esbuild), run with `node`: start ms and idle RSS MiB. */
  plain: { startMs: number; rssMiB: number } | null;
  errors: string[];
}

export interface RuntimeBaseline {
  /** `node` idling with nothing loaded. */
  nodeRssMiB: number;
  /** `node --import tsx` idling with nothing else loaded: what the TypeScript loader costs. */
  nodeTsxRssMiB: number;
}

export interface StartupResult {
  /** How these figures were taken, when not within the bench run itself. */
  note?: string;
  rows: StartupRow[];
  baseline: RuntimeBaseline | null;
}

/** A loopback port nothing listens on right now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The environment the commands get: offline simulated model, quiet, no inherited port. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of ['GEMINI_API_KEY', 'GOOGLE_API_KEY', 'PORT', 'REDIS_URL', 'AUTH_TOKEN', 'NODE_OPTIONS'])
    delete env[name];
  return { ...env, HOST: '127.0.0.1', NO_COLOR: '1', ...extra };
}

/** Resolves with ms since `t0` when `pattern` shows in the child's stdout. */
function waitForOutput(child: ChildProcess, pattern: string, t0: number, what: string): Promise<number> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => {
      cleanup();
      reject(
        new Error(`${what}: no "${pattern}" within ${START_TIMEOUT_MS} ms; output: ${seen.slice(-300)}`),
      );
    }, START_TIMEOUT_MS);
    const onData = (chunk: Buffer) => {
      seen += chunk.toString();
      if (seen.includes(pattern)) {
        const at = performance.now() - t0;
        cleanup();
        resolve(at);
      }
    };
    const onExit = (code: number | null) => {
      cleanup();
      reject(new Error(`${what} exited with code ${code} before "${pattern}": ${seen.slice(-300)}`));
    };
    const cleanup = () => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
    });
    child.once('exit', onExit);
  });
}

/** A process and its descendants, from /proc/<pid>/task/<tid>/children. */
async function processTree(pid: number): Promise<number[]> {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    const tasks = await import('node:fs/promises').then((fs) =>
      fs.readdir(`/proc/${out[i]}/task`).catch(() => []),
    );
    for (const tid of tasks) {
      const children = await readFile(`/proc/${out[i]}/task/${tid}/children`, 'utf8').catch(() => '');
      for (const child of children.split(' ').filter(Boolean)) out.push(Number(child));
    }
  }
  return out;
}

async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  return Number(/^VmRSS:\s*(\d+) kB/m.exec(status)?.[1] ?? 0) * 1024;
}

/** SIGTERM, then SIGKILL to every process of the tree that is still there. */
async function stopTree(child: ChildProcess, tree: number[]): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timedOut = await Promise.race([
    exited.then(() => false),
    new Promise<boolean>((resolve) => setTimeout(() => resolve(true), STOP_TIMEOUT_MS)),
  ]);
  if (timedOut) {
    for (const pid of tree) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

const tsxRequire = () => createRequire(realpathSync(join(REPO_ROOT, 'node_modules', 'tsx', 'package.json')));

/**
 * The protocol's server bundled into one plain-JS file with the esbuild that tsx ships (the same
 * entry as `pnpm serve`: createServer + runServer). Each module's own import.meta.url, __dirname
 * and __filename are kept as they were, so files read next to the sources are still found.
 */
/** The part of esbuild's API used here (esbuild is tsx's dependency, not ours: no types). */
interface Esbuild {
  build(options: Record<string, unknown>): Promise<unknown>;
}
interface PluginBuild {
  onLoad(
    options: { filter: RegExp },
    load: (args: { path: string }) => { contents: string; loader: string },
  ): void;
}

async function bundlePlain(protocol: Protocol, outfile: string): Promise<void> {
  const esbuild = (await import(pathToFileURL(tsxRequire().resolve('esbuild')).href)) as Esbuild;
  const keepPaths = {
    name: 'keep-paths',
    setup(build: PluginBuild) {
      build.onLoad({ filter: /\.(c?js|mjs|ts)$/ }, (args) => {
        const text = readFileSync(args.path, 'utf8')
          .replace(
            /\bimport\.meta\.resolve\(/g,
            `((specifier) => require('node:url').pathToFileURL(__cr(${JSON.stringify(args.path)}).resolve(specifier)).href)(`,
          )
          .replace(/\bimport\.meta\.url\b/g, JSON.stringify(pathToFileURL(args.path).href))
          .replace(/\bimport\.meta\.dirname\b/g, JSON.stringify(dirname(args.path)))
          .replace(/\b__dirname\b/g, JSON.stringify(dirname(args.path)))
          .replace(/\b__filename\b/g, JSON.stringify(args.path));
        return { contents: text, loader: args.path.endsWith('.ts') ? 'ts' : 'js' };
      });
    },
  };
  await esbuild.build({
    stdin: {
      contents: [
        `import { createServer } from './packages/${protocol}/server.ts';`,
        `import { loadConfig } from './packages/core/src/config.ts';`,
        `import { runServer } from './packages/core/src/runtime.ts';`,
        'const config = loadConfig();',
        'await runServer(await createServer({ config }), config);',
      ].join('\n'),
      resolveDir: REPO_ROOT,
      loader: 'ts',
      sourcefile: 'serve.ts',
    },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile,
    plugins: [keepPaths],
    banner: {
      js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
    },
    logLevel: 'silent',
  });
}

/** Start a server command, wait for "listening on", let it idle, read RSS; leaves it running. */
async function startServer(
  command: string,
  args: string[],
  port: number,
): Promise<{ child: ChildProcess; startMs: number; tree: number[]; rss: number[] }> {
  const t0 = performance.now();
  const child = spawn(command, args, {
    cwd: REPO_ROOT,
    env: cleanEnv({ PORT: String(port) }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    const startMs = await waitForOutput(child, 'listening on', t0, `${command} ${args.join(' ')}`);
    await new Promise((resolve) => setTimeout(resolve, IDLE_SETTLE_MS));
    const tree = await processTree(child.pid!);
    const rss = await Promise.all(tree.map(rssBytes));
    return { child, startMs, tree, rss };
  } catch (error) {
    await stopTree(child, await processTree(child.pid!));
    throw error;
  }
}

async function clientPrompt(protocol: Protocol, url: string): Promise<number> {
  const t0 = performance.now();
  // `script` gives the client a terminal, so it is the interactive shell a user sees.
  const child = spawn('script', ['-qfec', `pnpm client ${protocol} --url ${url}`, '/dev/null'], {
    cwd: REPO_ROOT,
    env: cleanEnv({ TERM: 'xterm' }),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  try {
    return await waitForOutput(child, PROMPT, t0, `pnpm client ${protocol}`);
  } finally {
    const tree = child.pid ? await processTree(child.pid) : [];
    child.stdin?.end('\u0004'); // Ctrl+D at the prompt: the shell exits.
    await stopTree(child, tree);
  }
}

export async function measureStartup(
  protocols: readonly Protocol[] = PROTOCOLS,
  options: { plain?: boolean; progress?: (line: string) => void } = {},
): Promise<StartupResult> {
  const say = options.progress ?? (() => undefined);
  // The root commands run a bundle of the sources, rebuilt on the first start after a source
  // changed (scripts/launch.mjs): build it now, so no measured start includes a build.
  await new Promise<void>((resolve, reject) => {
    const build = spawn(process.execPath, [join(REPO_ROOT, 'scripts', 'launch.mjs'), '--build'], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    build.once('error', reject);
    build.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`pnpm build exited with ${code}`)),
    );
  });
  const rows: StartupRow[] = [];
  const buildDir = options.plain === false ? undefined : await mkdtemp(join(tmpdir(), 'gtp-plain-'));
  try {
    for (const protocol of protocols) {
      const row: StartupRow = {
        protocol,
        serverStartMs: null,
        serverRssMiB: null,
        treeRssMiB: null,
        processes: null,
        clientPromptMs: null,
        plain: null,
        errors: [],
      };
      rows.push(row);
      const port = await freePort();
      try {
        const server = await startServer('pnpm', ['serve', protocol], port);
        try {
          row.serverStartMs = Math.round(server.startMs);
          // The serving process: the largest of pnpm's descendants (pnpm → [sh →] node).
          row.serverRssMiB = round2(
            Math.max(...(server.rss.length > 1 ? server.rss.slice(1) : server.rss)) / MIB,
          );
          row.treeRssMiB = round2(server.rss.reduce((a, b) => a + b, 0) / MIB);
          row.processes = server.tree.length;
          const url = protocol === 'grpc' ? `127.0.0.1:${port}` : `http://127.0.0.1:${port}`;
          row.clientPromptMs = Math.round(await clientPrompt(protocol, url));
        } finally {
          await stopTree(server.child, server.tree);
        }
      } catch (error) {
        row.errors.push((error as Error).message);
      }
      if (buildDir) {
        try {
          const outfile = join(buildDir, `${protocol}.mjs`);
          await bundlePlain(protocol, outfile);
          const plain = await startServer(process.execPath, [outfile], await freePort());
          row.plain = { startMs: Math.round(plain.startMs), rssMiB: round2(plain.rss[0]! / MIB) };
          await stopTree(plain.child, plain.tree);
        } catch (error) {
          row.errors.push(`plain build: ${(error as Error).message}`);
        }
      }
      say(
        `${protocol.padEnd(16)} serve → listening ${row.serverStartMs} ms, idle RSS ${row.serverRssMiB} MiB ` +
          `(${row.processes} processes, ${row.treeRssMiB} MiB); client → prompt ${row.clientPromptMs} ms; ` +
          `plain JS: ${row.plain ? `${row.plain.startMs} ms, ${row.plain.rssMiB} MiB` : 'n/a'}`,
      );
    }
  } finally {
    if (buildDir) await rm(buildDir, { recursive: true, force: true });
  }
  return { rows, baseline: await runtimeBaseline().catch(() => null) };
}

/** Idle RSS of bare node and of node with the tsx loader, nothing else loaded. */
async function runtimeBaseline(): Promise<RuntimeBaseline> {
  const idle = async (args: string[]) => {
    const child = spawn(
      process.execPath,
      [...args, '-e', "console.log('listening on'); setInterval(() => {}, 1000)"],
      {
        cwd: REPO_ROOT,
        env: cleanEnv({}),
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    try {
      await waitForOutput(child, 'listening on', performance.now(), 'node');
      await new Promise((resolve) => setTimeout(resolve, IDLE_SETTLE_MS));
      return round2((await rssBytes(child.pid!)) / MIB);
    } finally {
      await stopTree(child, [child.pid!]);
    }
  };
  const tsx = pathToFileURL(tsxRequire().resolve('tsx')).href;
  return { nodeRssMiB: await idle([]), nodeTsxRssMiB: await idle(['--import', tsx]) };
}

if (isMain(import.meta.url)) {
  runMain(async () => {
    const { values } = parseArgs({
      options: { protocols: { type: 'string' }, json: { type: 'boolean', default: false } },
    });
    const result = await measureStartup(parseProtocols(values.protocols), {
      progress: (line) => process.stderr.write(`${line}\n`),
    });
    if (values.json) console.log(JSON.stringify(result, null, 2));
    else console.log(result.baseline);
    process.exit(0);
  });
}
