import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type BenchResult, runBench } from '../src/bench.ts';

const pair = { p50: expect.any(Number), p99: expect.any(Number) };

describe('pnpm bench', () => {
  let dir: string | undefined;
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('measures one protocol and its floor on a tiny N and writes the result files', async () => {
    dir = await mkdtemp(join(tmpdir(), 'gtp-bench-'));
    await runBench({
      quick: true,
      protocols: ['websocket'],
      outDir: dir,
      onProgress: () => undefined,
      sizes: {
        connectSamples: 2,
        warmTurns: 3,
        throughputTokens: 50,
        throughputReplies: 1,
        pacedReplies: 1,
        idleConnections: 5,
        concurrentStreams: 3,
      },
    });

    const files = await readdir(dir);
    expect(files).toEqual(
      expect.arrayContaining(['latest.json', 'latest.md', 'ttft.svg', 'chunks-per-sec.svg']),
    );
    const result = JSON.parse(await readFile(join(dir, 'latest.json'), 'utf8')) as BenchResult;
    expect(result.machine).toMatchObject({
      os: expect.any(String),
      cpu: expect.any(String),
      cores: expect.any(Number),
      node: process.version,
    });
    expect(result.protocols).toHaveLength(1);
    const row = result.protocols[0]!;
    expect(row.errors).toEqual([]);
    expect(row).toMatchObject({
      protocol: 'websocket',
      connectMs: pair,
      ttftMs: pair,
      totalMs: pair,
      interChunkMs: pair,
      chunksPerSec: expect.any(Number),
      bytesPerReply: expect.any(Number),
      idleConnectionKiB: expect.any(Number),
      concurrency: { streams: 3, completed: 3, failed: 0, jitterMs: pair },
    });
    // At 20 tokens/s the chunks are ~50 ms apart: the pacing reached the client through the transport.
    expect(row.interChunkMs!.p50).toBeGreaterThan(30);
    expect(result.floors.map((f) => [f.protocol, f.floorOf])).toEqual([['floor:ws', 'websocket']]);
    expect(row.floorRatio).toEqual(expect.any(Number));
    expect(result.targets.filter((t) => t.protocol === 'websocket').length).toBe(4);
    const md = await readFile(join(dir, 'latest.md'), 'utf8');
    expect(md).toContain('| websocket |');
    expect(md).toMatch(/met/);
    const svg = await readFile(join(dir, 'ttft.svg'), 'utf8');
    expect(svg).toMatch(/^<svg[^>]+xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  }, 90_000);
});
