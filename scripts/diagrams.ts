/**
 * `pnpm diagrams`: render every sequence_diagrams/<protocol>.mmd to an SVG beside it with
 * @mermaid-js/mermaid-cli, driving the system Chromium (scripts/puppeteer-config.json; Puppeteer's
 * own browser download is skipped at install time with PUPPETEER_SKIP_DOWNLOAD=true).
 *
 *   pnpm diagrams              all of them
 *   pnpm diagrams rest grpc    some of them
 *   CHROMIUM_PATH=/path/to/chromium pnpm diagrams
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const diagramsDir = join(root, 'sequence_diagrams');
const baseConfig = join(root, 'scripts', 'puppeteer-config.json');
/** One diagram gets this long before it counts as failed. */
const RENDER_TIMEOUT_MS = 60_000;

/** The root devDependency's CLI (its package exports no path we could resolve it by). */
const mmdc = join(root, 'node_modules', '@mermaid-js', 'mermaid-cli', 'src', 'cli.js');

/** The puppeteer config, with CHROMIUM_PATH overriding the browser when set. */
function puppeteerConfig(): string {
  const chromium = process.env.CHROMIUM_PATH;
  if (!chromium) return baseConfig;
  const config = JSON.parse(readFileSync(baseConfig, 'utf8')) as Record<string, unknown>;
  const file = join(tmpdir(), 'gtp-puppeteer-config.json');
  writeFileSync(file, JSON.stringify({ ...config, executablePath: chromium }));
  return file;
}

function render(input: string, output: string, config: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [mmdc, '-q', '-i', input, '-o', output, '-p', config, '-b', 'white'],
      {
        stdio: ['ignore', 'inherit', 'inherit'],
        env: { ...process.env, PUPPETEER_SKIP_DOWNLOAD: 'true' },
      },
    );
    const timer = setTimeout(() => child.kill('SIGKILL'), RENDER_TIMEOUT_MS);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`mmdc ${signal ? `was killed (${signal})` : `exited with code ${code}`}`));
    });
  });
}

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const sources = readdirSync(diagramsDir)
    .filter((f) => f.endsWith('.mmd'))
    .filter((f) => wanted.length === 0 || wanted.includes(basename(f, '.mmd')))
    .sort();
  if (sources.length === 0) {
    console.error(`no .mmd files${wanted.length ? ` named ${wanted.join(', ')}` : ''} in sequence_diagrams/`);
    process.exit(1);
  }
  const config = puppeteerConfig();
  const browser = (JSON.parse(readFileSync(config, 'utf8')) as { executablePath: string }).executablePath;
  if (!existsSync(browser)) {
    console.error(
      `no browser at ${browser}: install chromium (apt-get install chromium) or set CHROMIUM_PATH`,
    );
    process.exit(1);
  }
  let failed = 0;
  for (const source of sources) {
    const output = join(diagramsDir, source.replace(/\.mmd$/, '.svg'));
    try {
      await render(join(diagramsDir, source), output, config);
      console.log(`sequence_diagrams/${source} → sequence_diagrams/${basename(output)}`);
    } catch (error) {
      failed += 1;
      console.error(`sequence_diagrams/${source}: ${(error as Error).message}`);
    }
  }
  process.exit(failed ? 1 : 0);
}

main();
