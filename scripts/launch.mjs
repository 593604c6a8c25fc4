/**
 * `pnpm serve <protocol>` and `pnpm client <protocol>` start here: plain JavaScript, so no
 * TypeScript transpiler is loaded at run time (tsx's loader alone is ~33 MiB of RSS and most of
 * the start-up time on a busy machine). What runs is scripts/run.ts and the protocols' server.ts
 * and client.ts, bundled by esbuild into node_modules/.cache/gtp-run/ — our own sources only: the
 * dependencies stay in node_modules and load as Node loads them, each where it is resolved now.
 *
 * The build is a cache of the sources, not a second copy to keep in step: every start compares the
 * modification times of the files the last build read (its metafile) and of the lockfile with the
 * build's, and builds again (about a second) when one changed or is gone. Edit a .ts file and the
 * next `pnpm serve` runs it. `pnpm build` (also run after `pnpm install`) builds ahead of time.
 *
 * One process: the bundle is imported here, in this node (pnpm → node, as with `node --import tsx
 * scripts/run.ts`); esbuild's service process exists only while it builds and is stopped before
 * the command runs. Each build goes to a directory of its own and `current.json` names the newest,
 * so two commands starting at once never read a half-written build.
 *
 *   node scripts/launch.mjs serve <protocol> …   node scripts/launch.mjs client <protocol> …
 *   node scripts/launch.mjs --build               (pnpm build)
 *
 * Stack traces name the bundle's files; `NODE_OPTIONS=--enable-source-maps pnpm serve sse` maps
 * them back to the .ts sources (the bundle has source maps; off by default, as they cost memory).
 */
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';

const ROOT = join(import.meta.dirname, '..');
/** GTP_RUN_CACHE: another place for the builds (a test that must not share them with others). */
const CACHE = process.env.GTP_RUN_CACHE || join(ROOT, 'node_modules', '.cache', 'gtp-run');
const CURRENT = join(CACHE, 'current.json');
const PROTOCOLS = ['rest', 'streamable-http', 'sse', 'websocket', 'grpc'];
/** Besides the sources: a new install moves the dependencies the build points at. */
const LOCKFILE = join(ROOT, 'pnpm-lock.yaml');
/** Builds older than this are removed (a long-running command may still load chunks of its own). */
const PRUNE_AFTER_MS = 24 * 3600_000;

const mtime = (file) => {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return Number.POSITIVE_INFINITY; // gone: stale
  }
};

/** The build `current.json` names, when no file it was built from changed since. */
function freshBuild() {
  let current;
  try {
    current = JSON.parse(readFileSync(CURRENT, 'utf8'));
  } catch {
    return undefined;
  }
  const dir = join(CACHE, current.dir);
  if (!existsSync(join(dir, 'scripts', 'run.mjs'))) return undefined;
  if (mtime(LOCKFILE) > current.builtAt || mtime(import.meta.filename) > current.builtAt) return undefined;
  for (const input of current.inputs) if (mtime(join(ROOT, input)) > current.builtAt) return undefined;
  return dir;
}

/** The esbuild that tsx ships (a devDependency): the same compiler tsx would run on every start. */
async function loadEsbuild() {
  const tsx = createRequire(realpathSync(join(ROOT, 'node_modules', 'tsx', 'package.json')));
  return import(pathToFileURL(tsx.resolve('esbuild')).href);
}

/**
 * Our modules are bundled with their own location kept (import.meta.url/dirname are the source
 * file's, import.meta.resolve resolves from it at build time), so files read next to the sources
 * (proto, public/, ui/) are found; every import that resolves into node_modules is left to Node,
 * by its absolute path.
 */
function plugin() {
  return {
    name: 'sources-in-place',
    setup(build) {
      build.onResolve({ filter: /.*/ }, async (args) => {
        if (args.pluginData === 'resolving' || args.path.startsWith('node:') || args.kind === 'entry-point')
          return undefined;
        const found = await build.resolve(args.path, {
          kind: args.kind,
          resolveDir: args.resolveDir,
          importer: args.importer,
          pluginData: 'resolving',
        });
        if (found.errors.length > 0) return undefined;
        // Nothing of ours is imported for its side effects alone (no `import './x'`, no bare
        // `import 'dep'`): what a command does not use is left out, and with it the dependencies
        // only that part imports (a client loads no Fastify, pino or prom-client because a module
        // of @gtp/core it uses one function of imports them).
        const external = found.path.includes('/node_modules/');
        return { path: found.path, external, sideEffects: false };
      });
      build.onLoad({ filter: /\.(ts|js|mjs)$/ }, async (args) => {
        if (args.path.includes('/node_modules/')) return undefined;
        let text = readFileSync(args.path, 'utf8');
        for (const [call, , specifier] of text.matchAll(/\bimport\.meta\.resolve\((['"])([^'"]+)\1\)/g)) {
          const found = await build.resolve(specifier, {
            kind: 'import-statement',
            resolveDir: dirname(args.path),
            pluginData: 'resolving',
          });
          if (found.errors.length > 0) throw new Error(`${args.path}: cannot resolve ${specifier}`);
          text = text.replace(call, JSON.stringify(pathToFileURL(found.path).href));
        }
        text = text
          .replace(/\bimport\.meta\.url\b/g, JSON.stringify(pathToFileURL(args.path).href))
          .replace(/\bimport\.meta\.dirname\b/g, JSON.stringify(dirname(args.path)))
          .replace(/\bimport\.meta\.filename\b/g, JSON.stringify(args.path));
        return { contents: text, loader: args.path.endsWith('.ts') ? 'ts' : 'js' };
      });
    },
  };
}

/** Bundle scripts/run.ts and each protocol's server.ts and client.ts; returns the new build's directory. */
export async function build() {
  const esbuild = await loadEsbuild();
  const builtAt = Date.now();
  const name = `build-${builtAt}-${process.pid}`;
  const outdir = join(CACHE, name);
  const entryPoints = [
    'scripts/run.ts',
    ...PROTOCOLS.flatMap((p) => [`packages/${p}/server.ts`, `packages/${p}/client.ts`]),
  ].map((file) => join(ROOT, file));
  try {
    const result = await esbuild.build({
      entryPoints,
      absWorkingDir: ROOT,
      outbase: ROOT,
      outdir,
      outExtension: { '.js': '.mjs' },
      bundle: true,
      splitting: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      // As Node resolves: `main`, and the `import`/`require` conditions, no bundler-only `module`.
      mainFields: ['main'],
      conditions: [],
      define: { GTP_BUILT: JSON.stringify(outdir) },
      sourcemap: 'linked',
      metafile: true,
      logLevel: 'warning',
      plugins: [plugin()],
    });
    const inputs = Object.keys(result.metafile.inputs).filter((input) => !input.includes('node_modules'));
    mkdirSync(CACHE, { recursive: true });
    const pointer = `${CURRENT}.${process.pid}`;
    writeFileSync(pointer, JSON.stringify({ dir: name, builtAt, inputs }));
    renameSync(pointer, CURRENT);
  } finally {
    await esbuild.stop?.();
  }
  for (const entry of readdirSync(CACHE)) {
    const at = Number(/^build-(\d+)-/.exec(entry)?.[1]);
    if (at && entry !== name && builtAt - at > PRUNE_AFTER_MS)
      rmSync(join(CACHE, entry), { recursive: true, force: true });
  }
  return outdir;
}

const [first] = process.argv.slice(2);
if (first === '--build') {
  console.log(`built ${relative(ROOT, await build())}`);
} else {
  const dir = freshBuild() ?? (await build());
  await import(pathToFileURL(join(dir, 'scripts', 'run.mjs')).href);
}
