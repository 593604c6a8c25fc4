/**
 * `pnpm run server <protocol>` and `pnpm client <protocol>`: run a protocol package's server.ts or
 * client.ts, passing the remaining arguments through.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PROTOCOLS, type Protocol } from '../packages/core/src/constants.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const [kind, protocol, ...rest] = process.argv.slice(2);

function usage(problem: string): never {
  console.error(
    `${problem}\nusage: pnpm ${kind === 'client' ? 'client' : 'run server'} <protocol> [args]\nprotocols: ${PROTOCOLS.join(', ')}`,
  );
  process.exit(2);
}

if (kind !== 'server' && kind !== 'client') usage(`unknown command "${kind ?? ''}"`);
if (!protocol) usage('missing protocol');
if (!PROTOCOLS.includes(protocol as Protocol)) usage(`unknown protocol "${protocol}"`);

const script = join(root, 'packages', protocol, `${kind}.ts`);
if (!existsSync(script)) usage(`packages/${protocol}/${kind}.ts does not exist yet`);

const tsx = join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs');
const child = spawn(process.execPath, [tsx, script, ...rest], { stdio: 'inherit' });
// Ctrl+C reaches the child through the terminal's process group; forward SIGTERM ourselves.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => child.kill('SIGTERM'));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
