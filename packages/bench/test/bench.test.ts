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
        activeStreams: 3,
        capacityStart: 2,
        capacityMax: 4,
        capacityPrecision: 0.5,
        capacityTokens: 4,
        cpuStreams: 2,
        cpuTokens: 4,
        cpuPairs: 1,
        storedSessions: 20,
        storedTurns: 2,
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
      bytesPerToken: expect.any(Number),
      idleConnectionKiB: expect.any(Number),
      activeStreamKiB: expect.any(Number),
      capacity: { streams: expect.any(Number), steps: expect.any(Array) },
      cpuPerToken: { streams: 2, tokensPerStream: 4, microsPerToken: expect.any(Number), runs: 1 },
      cpuRatio: expect.any(Number),
      capacityFromCpu: expect.any(Number),
    });
    // null when the floor passed no step at all (a busy machine can make even 2 streams miss 20 ms).
    expect(row.capacityRatio === null || typeof row.capacityRatio === 'number').toBe(true);
    // The search stepped 2 then 4 (the ceiling), every step a real trial of 2 or 4 streams.
    expect(row.capacity!.steps.map((s) => s.streams)).toEqual(expect.arrayContaining([2]));
    for (const step of row.capacity!.steps) expect(step.completed + step.failed).toBe(step.streams);
    // Pinning is reported either way; when taskset worked, the two processes are on different cores.
    expect(result.pinning).toMatchObject({ comparable: expect.any(Boolean), note: expect.any(String) });
    if (result.pinning.comparable) {
      expect(result.pinning.server!.allowedCpus).not.toBe(result.pinning.loadGenerator!.allowedCpus);
    }
    expect(result.sessionMemory).toMatchObject({ sessions: 20, turns: 2, perSessionKiB: expect.any(Number) });
    expect(result.startup).toBeNull();
    // At 20 tokens/s the chunks are ~50 ms apart: the pacing reached the client through the transport.
    expect(row.interChunkMs!.p50).toBeGreaterThan(30);
    expect(result.floors.map((f) => [f.protocol, f.floorOf])).toEqual([['floor:ws', 'websocket']]);
    expect(row.floorRatio).toEqual(expect.any(Number));
    const names = result.targets.filter((t) => t.protocol === 'websocket').map((t) => t.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'capacity per core ≥ 0.8 × floor',
        'CPU per token ≤ 1.25 × floor',
        'bytes per token ≤ 50',
        'idle server ≤ 60 MB RSS',
      ]),
    );
    const md = await readFile(join(dir, 'latest.md'), 'utf8');
    expect(md).toContain('| websocket |');
    expect(md).toMatch(/met/);
    const svg = await readFile(join(dir, 'ttft.svg'), 'utf8');
    expect(svg).toMatch(/^<svg[^>]+xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  }, 180_000);

  it("measures gRPC-Web as a row of its own, on the gRPC server's gRPC-Web listener", async () => {
    const result = await runBench({
      quick: true,
      protocols: ['grpc'],
      floors: false,
      outDir: null,
      onProgress: () => undefined,
      sizes: {
        connectSamples: 2,
        warmTurns: 3,
        throughputTokens: 50,
        throughputReplies: 1,
        pacedReplies: 1,
        idleConnections: 5,
        activeStreams: 3,
        capacityStart: 2,
        capacityMax: 4,
        capacityPrecision: 0.5,
        capacityTokens: 4,
        cpuStreams: 2,
        cpuTokens: 4,
        cpuPairs: 1,
        storedSessions: 5,
        storedTurns: 1,
      },
    });
    expect(result.protocols.map((r) => r.protocol)).toEqual(['grpc', 'grpc-web']);
    const web = result.protocols[1]!;
    expect(web.errors).toEqual([]);
    expect(web).toMatchObject({
      connectMs: pair,
      ttftMs: pair,
      interChunkMs: pair,
      chunksPerSec: expect.any(Number),
      bytesPerReply: expect.any(Number),
      bytesPerToken: expect.any(Number),
      idleConnectionKiB: expect.any(Number),
      capacity: { streams: expect.any(Number), steps: expect.any(Array) },
      cpuPerToken: { streams: 2, microsPerToken: expect.any(Number), runs: 1 },
      capacityFromCpu: expect.any(Number),
    });
    for (const step of web.capacity!.steps) expect(step.completed + step.failed).toBe(step.streams);
    // Its bytes were counted on the gRPC-Web listener's port: HTTP/1.1 answers, not gRPC's HTTP/2.
    expect(web.bytesPerReply).not.toBe(result.protocols[0]!.bytesPerReply);
    // No floor and no root command of its own: only the targets that apply.
    const names = result.targets.filter((t) => t.protocol === 'grpc-web').map((t) => t.name);
    expect(names).toContain('first-token overhead p50 < 1 ms');
    expect(names.filter((n) => n.includes('floor') || n.startsWith('idle server'))).toEqual([]);
  }, 180_000);
});
