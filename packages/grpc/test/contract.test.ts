import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import packageJson from '../package.json' with { type: 'json' };

const run = promisify(execFile);
const packageDir = join(import.meta.dirname, '..');
const repoRoot = join(packageDir, '..', '..');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

describe('generated types', () => {
  it('generated/ is what `pnpm --filter @gtp/grpc gen` makes from proto/genai/chat/v1/chat.proto today', async () => {
    const out = mkdtempSync(join(tmpdir(), 'grpc-gen-'));
    try {
      // The package's own "gen" script, with the output sent to a temporary directory.
      const args = packageJson.scripts['gen:grpc-js'].split(' ').slice(1);
      const outDir = args.findIndex((a) => a.startsWith('--outDir='));
      args[outDir] = `--outDir=${out}`;
      await run(join(packageDir, 'node_modules', '.bin', 'proto-loader-gen-types'), args, {
        cwd: packageDir,
      });
      const committed = join(packageDir, 'generated');
      const es = join(committed, 'es');
      const fresh = files(out)
        .map((f) => relative(out, f))
        .sort();
      expect(
        files(committed)
          .filter((f) => !f.startsWith(es))
          .map((f) => relative(committed, f))
          .sort(),
      ).toEqual(fresh);
      for (const file of fresh) {
        expect(
          readFileSync(join(committed, file), 'utf8'),
          `${file} is stale: run pnpm --filter @gtp/grpc gen`,
        ).toBe(readFileSync(join(out, file), 'utf8'));
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});

describe('buf lint', () => {
  it('proto/ passes buf lint with the STANDARD rules (pnpm lint:proto)', async () => {
    const { stdout, stderr } = await run(join(packageDir, 'node_modules', '.bin', 'buf'), ['lint'], {
      cwd: repoRoot,
    });
    expect(stdout + stderr).toBe('');
  });
});

describe('generated browser code (protobuf-es)', () => {
  it('generated/es/ is what `buf generate` (gen:es) makes from proto/ today', async () => {
    const out = mkdtempSync(join(tmpdir(), 'grpc-gen-es-'));
    try {
      // buf.gen.yaml's plugin from node_modules; --output puts generated/es/ under the temp dir.
      const bin = join(packageDir, 'node_modules', '.bin');
      await run(join(bin, 'buf'), ['generate', repoRoot, '--template', 'buf.gen.yaml', '--output', out], {
        cwd: packageDir,
        env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
      });
      const committed = join(packageDir, 'generated', 'es');
      const fresh = join(out, 'generated', 'es');
      const names = (dir: string) =>
        files(dir)
          .map((f) => relative(dir, f))
          .sort();
      expect(names(committed)).toEqual(names(fresh));
      for (const file of names(fresh)) {
        expect(
          readFileSync(join(committed, file), 'utf8'),
          `${file} is stale: run pnpm --filter @gtp/grpc gen`,
        ).toBe(readFileSync(join(fresh, file), 'utf8'));
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});

/**
 * "A client in another language, generated from proto/chat.proto alone, can hold a conversation."
 * Needs Debian's python3-grpcio and protobuf-compiler-grpc (protoc + grpc_python_plugin).
 */
const PYTHON = '/usr/bin/python3';
const GRPC_PYTHON_PLUGIN = '/usr/bin/grpc_python_plugin';
const pythonReady =
  existsSync(GRPC_PYTHON_PLUGIN) &&
  existsSync('/usr/bin/protoc') &&
  (await run(PYTHON, ['-c', 'import grpc']).then(
    () => true,
    () => false,
  ));
if (!pythonReady)
  console.warn('Python client test skipped: apt-get install python3-grpcio protobuf-compiler-grpc');

describe.skipIf(!pythonReady)('a Python client generated from proto/ alone', () => {
  it('holds a two-turn conversation over StreamMessage, gets NOT_FOUND, and reads ErrorInfo and RetryInfo', async () => {
    const { createServer } = await import('../server.ts');
    const { testConfig } = await import('@gtp/core/testing');
    const server = await createServer({ config: testConfig() });
    const target = await server.listen({ port: 0, host: '127.0.0.1' });
    // One call per minute: the second is refused with rate_limited and a retry delay.
    const limited = await createServer({
      config: testConfig({ rateLimitMax: 1, rateLimitWindowMs: 60_000 }),
    });
    const limitedTarget = await limited.listen({ port: 0, host: '127.0.0.1' });
    const out = mkdtempSync(join(tmpdir(), 'grpc-python-'));
    try {
      await run('/usr/bin/protoc', [
        `-I${join(repoRoot, 'proto')}`,
        `--python_out=${out}`,
        `--grpc_out=${out}`,
        `--plugin=protoc-gen-grpc=${GRPC_PYTHON_PLUGIN}`,
        'genai/chat/v1/chat.proto',
        'google/rpc/status.proto',
        'google/rpc/error_details.proto',
      ]);
      const script = join(import.meta.dirname, 'python', 'two_turns.py');
      const { stdout } = await run(PYTHON, [script, target, limitedTarget], {
        env: { ...process.env, PYTHONPATH: out },
      });
      const result = JSON.parse(stdout) as {
        turns: { first: string; last: string; finish: string; text: string }[];
        history: [string, string][];
        missing: string;
        rateLimited: Record<string, string | number>;
      };
      expect(result.turns.map((t) => [t.first, t.last, t.finish])).toEqual([
        ['start', 'done', 'FINISH_REASON_STOP'],
        ['start', 'done', 'FINISH_REASON_STOP'],
      ]);
      expect(result.turns[1]!.text).toContain('Turn 2');
      expect(result.turns[1]!.text).toContain('My name is Ada.');
      expect(result.history.map(([role]) => role)).toEqual([
        'ROLE_USER',
        'ROLE_MODEL',
        'ROLE_USER',
        'ROLE_MODEL',
      ]);
      expect(result.missing).toBe('NOT_FOUND');
      expect(result.rateLimited).toMatchObject({
        status: 'RESOURCE_EXHAUSTED',
        statusCode: 8,
        reason: 'RATE_LIMITED',
        domain: 'genai-transports',
        code: 'rate_limited',
      });
      expect(result.rateLimited.retryDelaySeconds).toBeGreaterThan(0);
    } finally {
      rmSync(out, { recursive: true, force: true });
      await server.close();
      await limited.close();
    }
  });
});
