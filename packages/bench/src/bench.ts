/**
 * `pnpm bench`: the transport benchmark.
 *
 * The servers run in a forked process (server-host.ts) with the bench model; this process is the
 * load generator and drives each protocol through its own ClientAdapter, then the bare-Node floor
 * of the same wire, and writes packages/bench/results/latest.{json,md} and SVG charts.
 *
 *   pnpm bench            full run (~5-10 minutes on 2 cores)
 *   pnpm bench --quick    CI-sized run (smaller N; well under 2 minutes)
 *   pnpm bench --protocols grpc,websocket --no-floors
 */
import { setMaxListeners } from 'node:events';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { isMain, PROTOCOLS, type Protocol, runMain } from '@gtp/core';
import { benchMessage } from './bench-model.ts';
import { AdapterClient, type BenchClient, floorClient } from './clients.ts';
import { FLOOR_OF } from './floors.ts';
import { HostProcess } from './host-process.ts';
import { type MachineInfo, machineInfo } from './machine.ts';
import { loadProtocols, PACKAGES_DIR, parseProtocols } from './protocols.ts';
import { updateReadmes } from './readmes.ts';
import { renderCharts, renderMarkdown } from './report.ts';
import type { HostOptions, HostReady } from './server-host.ts';
import { gaps, measureTurn, p50p99, round2 } from './turn.ts';
import { portOf, WireMeter } from './wire.ts';

export const RESULTS_DIR = join(PACKAGES_DIR, 'bench', 'results');
const REPO_ROOT = join(PACKAGES_DIR, '..');

export interface Sizes {
  /** Fresh clients timed from construction to ready. */
  connectSamples: number;
  /** Warm turns for first-token overhead (zero-delay model, REPLY_TOKENS each). */
  warmTurns: number;
  /** Tokens of the one long zero-delay reply that measures chunks/s, and how many such replies. */
  throughputTokens: number;
  throughputReplies: number;
  /** Replies of the server and its floor, alternated, for the × floor ratio. */
  ratioPairs: number;
  /** Replies at PACED_DELAY_MS per token on one stream (inter-chunk latency). */
  pacedReplies: number;
  /** Idle connections opened to measure the server's memory per connection. */
  idleConnections: number;
  /** Concurrent streams at PACED_DELAY_MS per token. */
  concurrentStreams: number;
}

export const QUICK_SIZES: Sizes = {
  connectSamples: 5,
  warmTurns: 40,
  throughputTokens: 1_000,
  throughputReplies: 1,
  ratioPairs: 2,
  pacedReplies: 1,
  idleConnections: 200,
  concurrentStreams: 100,
};

export const FULL_SIZES: Sizes = {
  connectSamples: 30,
  warmTurns: 300,
  throughputTokens: 5_000,
  throughputReplies: 3,
  ratioPairs: 7,
  pacedReplies: 3,
  idleConnections: 1_000,
  concurrentStreams: 1_000,
};

/** Tokens of a standard reply (first token, bytes per reply, paced streams). */
export const REPLY_TOKENS = 40;
/** 20 tokens/s, the "realistic" pace. */
export const PACED_DELAY_MS = 50;
/** A session is replaced after this many warm turns, so its history stays small. */
const TURNS_PER_SESSION = 25;
/** How many clients connect at once while opening N. */
const OPEN_PARALLELISM = 50;
/** Every phase gives up after this long. */
const PHASE_TIMEOUT_MS = 90_000;

export interface Concurrency {
  streams: number;
  tokensPerSecond: number;
  completed: number;
  failed: number;
  /** |gap between chunks − 50 ms| over every stream; null for REST (one chunk per reply). */
  jitterMs: { p50: number; p99: number } | null;
  /** Server process CPU while the streams ran, % of one core. */
  serverCpuPercent: number;
  serverRssMiB: number;
  durationMs: number;
}

export interface BenchRow {
  /** A protocol, or `floor:<kind>` for a bare-Node floor. */
  protocol: string;
  /** For a floor: the protocol it is the floor of. */
  floorOf?: Protocol;
  connectMs: { p50: number; p99: number } | null;
  /** Warm connection, zero-delay model: send() → first text. */
  ttftMs: { p50: number; p99: number } | null;
  totalMs: { p50: number; p99: number } | null;
  /** One stream at 20 tokens/s: gaps between chunks. */
  interChunkMs: { p50: number; p99: number } | null;
  /** One stream, zero-delay model: chunks received per second. */
  chunksPerSec: number | null;
  /** TCP payload bytes received per REPLY_TOKENS-token reply (headers and framing included). */
  bytesPerReply: number | null;
  bytesSentPerReply: number | null;
  /** Server RSS growth per idle connection, KiB (and the JS heap part of it). */
  idleConnectionKiB: number | null;
  idleConnectionHeapKiB: number | null;
  concurrency: Concurrency | null;
  /** chunksPerSec / the floor's chunksPerSec. */
  floorRatio?: number | null;
  errors: string[];
}

export interface Target {
  name: string;
  protocol: string;
  value: number | null;
  limit: string;
  met: boolean | null;
  note?: string;
}

export interface BenchResult {
  generatedAt: string;
  command: string;
  quick: boolean;
  machine: MachineInfo;
  sizes: Sizes;
  model: { tokensPerReply: number; pacedTokensPerSecond: number };
  protocols: BenchRow[];
  floors: BenchRow[];
  targets: Target[];
  skipped: { protocol: string; reason: string }[];
  durationSeconds: number;
}

export interface BenchOptions {
  quick?: boolean;
  protocols?: readonly Protocol[];
  floors?: boolean;
  /** Overrides of the sizes (tests use tiny ones). */
  sizes?: Partial<Sizes>;
  /** Where to write latest.json/md and the charts; null: write nothing. */
  outDir?: string | null;
  onProgress?: (line: string) => void;
  command?: string;
}

interface Subject {
  name: string;
  port: number;
  isStreaming: boolean;
  make(): BenchClient;
  /** How to start a fresh server process holding only this subject, for the memory measurement. */
  idleHost?: IdleHost;
}

interface IdleHost {
  options: HostOptions;
  make(ready: HostReady): BenchClient;
}

/**
 * Server memory per idle connection, in a fresh server process holding only this one server, so
 * that memory freed by earlier phases cannot hide the growth: RSS and heap after GC, before and
 * after opening n idle connections, divided by n.
 */
async function measureIdle(idleHost: IdleHost, n: number): Promise<{ rssKiB: number; heapKiB: number }> {
  const host = new HostProcess(idleHost.options);
  const clients: BenchClient[] = [];
  try {
    const ready = await host.ready;
    const owner = idleHost.make(ready);
    clients.push(owner);
    const shared = await owner.ready();
    const before = await host.sample(true);
    const opened = await inBatches(n, OPEN_PARALLELISM, async () => {
      const client = idleHost.make(ready);
      clients.push(client);
      await client.idle(shared);
    });
    const failed = opened.filter((r) => r.status === 'rejected');
    if (failed.length > 0) throw (failed[0] as PromiseRejectedResult).reason;
    await sleep(300);
    const after = await host.sample(true);
    return {
      rssKiB: round2((after.rssBytes - before.rssBytes) / n / 1024),
      heapKiB: round2((after.heapUsedBytes - before.heapUsedBytes) / n / 1024),
    };
  } finally {
    await inBatches(clients.length, OPEN_PARALLELISM, (i) => clients[i]!.close());
    await host.stop();
  }
}

async function inBatches<T>(
  count: number,
  parallel: number,
  task: (i: number) => Promise<T>,
): Promise<PromiseSettledResult<T>[]> {
  const results: PromiseSettledResult<T>[] = [];
  for (let start = 0; start < count; start += parallel) {
    const batch = Array.from({ length: Math.min(parallel, count - start) }, (_, j) => task(start + j));
    results.push(...(await Promise.allSettled(batch)));
  }
  return results;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function measureSubject(
  subject: Subject,
  sizes: Sizes,
  host: HostProcess,
  meter: WireMeter,
  progress: (line: string) => void,
): Promise<BenchRow> {
  const row: BenchRow = {
    protocol: subject.name,
    connectMs: null,
    ttftMs: null,
    totalMs: null,
    interChunkMs: null,
    chunksPerSec: null,
    bytesPerReply: null,
    bytesSentPerReply: null,
    idleConnectionKiB: null,
    idleConnectionHeapKiB: null,
    concurrency: null,
    errors: [],
  };
  const say = (what: string) => progress(`${subject.name.padEnd(16)} ${what}`);
  const phase = async (name: string, run: () => Promise<void>) => {
    try {
      await run();
    } catch (error) {
      const message = `${name}: ${error instanceof Error ? error.message : String(error)}`;
      row.errors.push(message);
      say(`FAILED ${message}`);
    }
  };
  const standard = benchMessage({ tokens: REPLY_TOKENS, delayMs: 0 });

  await phase('connect', async () => {
    const samples: number[] = [];
    for (let i = 0; i < sizes.connectSamples; i++) {
      const t0 = performance.now();
      const client = subject.make();
      try {
        await client.ready();
        samples.push(performance.now() - t0);
      } finally {
        await client.close();
      }
    }
    row.connectMs = p50p99(samples);
    say(`set-up p50 ${row.connectMs?.p50} ms`);
  });

  await phase('first token', async () => {
    const client = subject.make();
    const signal = AbortSignal.timeout(PHASE_TIMEOUT_MS);
    try {
      let session = await client.ready();
      for (let i = 0; i < 5; i++) await measureTurn(client, session, standard, signal); // warm-up
      session = await client.ready();
      const ttft: number[] = [];
      const total: number[] = [];
      const down: number[] = [];
      const up: number[] = [];
      for (let i = 0; i < sizes.warmTurns; i++) {
        if (i > 0 && i % TURNS_PER_SESSION === 0) session = await client.ready();
        const before = meter.count(subject.port);
        const turn = await measureTurn(client, session, standard, signal);
        const after = meter.count(subject.port);
        ttft.push(turn.ttftMs);
        total.push(turn.totalMs);
        down.push(after.down - before.down);
        up.push(after.up - before.up);
      }
      row.ttftMs = p50p99(ttft);
      row.totalMs = p50p99(total);
      row.bytesPerReply = Math.round(down.reduce((a, b) => a + b, 0) / down.length);
      row.bytesSentPerReply = Math.round(up.reduce((a, b) => a + b, 0) / up.length);
      say(`first token p50 ${row.ttftMs?.p50} ms, p99 ${row.ttftMs?.p99} ms; ${row.bytesPerReply} B/reply`);
    } finally {
      await client.close();
    }
  });

  if (subject.isStreaming) {
    await phase('throughput', async () => {
      const client = subject.make();
      const signal = AbortSignal.timeout(PHASE_TIMEOUT_MS);
      try {
        const rates: number[] = [];
        for (let i = 0; i < sizes.throughputReplies; i++) rates.push(await throughput(client, sizes, signal));
        row.chunksPerSec = Math.round(median(rates)!);
        say(`${row.chunksPerSec} chunks/s`);
      } finally {
        await client.close();
      }
    });

    await phase('inter-chunk', async () => {
      const client = subject.make();
      const signal = AbortSignal.timeout(PHASE_TIMEOUT_MS);
      try {
        const all: number[] = [];
        for (let i = 0; i < sizes.pacedReplies; i++) {
          const session = await client.ready();
          const turn = await measureTurn(
            client,
            session,
            benchMessage({ tokens: REPLY_TOKENS, delayMs: PACED_DELAY_MS }),
            signal,
          );
          all.push(...gaps(turn.deltaAtMs));
        }
        row.interChunkMs = p50p99(all);
        say(`inter-chunk at 20 tokens/s p50 ${row.interChunkMs?.p50} ms, p99 ${row.interChunkMs?.p99} ms`);
      } finally {
        await client.close();
      }
    });
  }

  if (subject.idleHost) {
    await phase('idle connections', async () => {
      const idle = await measureIdle(subject.idleHost!, sizes.idleConnections);
      row.idleConnectionKiB = idle.rssKiB;
      row.idleConnectionHeapKiB = idle.heapKiB;
      say(`idle connection ${idle.rssKiB} KiB RSS (${idle.heapKiB} KiB heap), N=${sizes.idleConnections}`);
    });
  }

  await phase('concurrency', async () => {
    const n = sizes.concurrentStreams;
    const clients: BenchClient[] = [];
    try {
      const sessions: string[] = new Array(n);
      const opened = await inBatches(n, OPEN_PARALLELISM, async (i) => {
        const client = subject.make();
        clients[i] = client;
        sessions[i] = await client.ready();
      });
      const failedToOpen = opened.filter((r) => r.status === 'rejected');
      if (failedToOpen.length > 0) throw (failedToOpen[0] as PromiseRejectedResult).reason;
      const signal = AbortSignal.timeout(PHASE_TIMEOUT_MS);
      setMaxListeners(n + 10, signal);
      const message = benchMessage({ tokens: REPLY_TOKENS, delayMs: PACED_DELAY_MS });
      const before = await host.sample();
      const t0 = performance.now();
      // Real clients do not start in lock-step: spread the starts over one token interval.
      const turns = await Promise.allSettled(
        clients.map(async (client, i) => {
          await sleep(Math.random() * PACED_DELAY_MS);
          return measureTurn(client, sessions[i]!, message, signal);
        }),
      );
      const durationMs = performance.now() - t0;
      const after = await host.sample();
      const jitter: number[] = [];
      let completed = 0;
      for (const turn of turns) {
        if (turn.status !== 'fulfilled') continue;
        completed += 1;
        for (const gap of gaps(turn.value.deltaAtMs)) jitter.push(Math.abs(gap - PACED_DELAY_MS));
      }
      const cpuMicros =
        after.cpuUserMicros - before.cpuUserMicros + (after.cpuSystemMicros - before.cpuSystemMicros);
      row.concurrency = {
        streams: n,
        tokensPerSecond: 1000 / PACED_DELAY_MS,
        completed,
        failed: n - completed,
        jitterMs: subject.isStreaming ? p50p99(jitter) : null,
        serverCpuPercent: Math.round(cpuMicros / 10 / durationMs),
        serverRssMiB: round2(after.rssBytes / 1024 ** 2),
        durationMs: Math.round(durationMs),
      };
      const firstFailure = turns.find((t) => t.status === 'rejected') as PromiseRejectedResult | undefined;
      if (firstFailure)
        row.errors.push(
          `concurrency: ${n - completed} streams failed, e.g. ${String(firstFailure.reason?.message ?? firstFailure.reason)}`,
        );
      say(
        `${n} streams at 20 tokens/s: ${completed} done, p99 jitter ${row.concurrency.jitterMs?.p99 ?? 'n/a'} ms, ` +
          `server CPU ${row.concurrency.serverCpuPercent}%`,
      );
    } finally {
      await inBatches(clients.length, OPEN_PARALLELISM, (i) => clients[i]?.close() ?? Promise.resolve());
    }
  });
  return row;
}

/** The targets, each met or not on this run. */
export function evaluateTargets(
  result: Pick<BenchResult, 'protocols' | 'floors' | 'quick' | 'sizes'>,
): Target[] {
  const targets: Target[] = [];
  for (const row of result.protocols) {
    const streaming = row.protocol !== 'rest';
    if (streaming) {
      const v = row.ttftMs?.p50 ?? null;
      targets.push({
        name: 'first-token overhead p50 < 1 ms',
        protocol: row.protocol,
        value: v,
        limit: '< 1 ms',
        met: v === null ? null : v < 1,
      });
      const ratio = row.floorRatio ?? null;
      targets.push({
        name: 'chunks/s ≥ 0.8 × floor',
        protocol: row.protocol,
        value: ratio,
        limit: '≥ 0.8',
        met: ratio === null ? null : ratio >= 0.8,
      });
    }
    const c = row.concurrency;
    const jitter = c?.jitterMs?.p99 ?? null;
    targets.push({
      name: `${c?.streams ?? result.sizes.concurrentStreams} streams at 20 tokens/s, p99 jitter < 20 ms`,
      protocol: row.protocol,
      value: jitter,
      limit: '< 20 ms',
      met: !streaming || !c ? null : jitter !== null && jitter < 20 && c.failed === 0,
      note: !streaming
        ? 'REST does not stream'
        : result.quick
          ? 'quick run: the target is for 1,000 streams'
          : undefined,
    });
    const idle = row.idleConnectionKiB;
    targets.push({
      name: 'idle connection < 30 KiB',
      protocol: row.protocol,
      value: idle,
      limit: '< 30 KiB',
      met: idle === null ? null : idle < 30,
    });
  }
  return targets;
}

/** Chunks per second of one zero-delay reply of `throughputTokens` tokens. */
async function throughput(client: BenchClient, sizes: Sizes, signal: AbortSignal): Promise<number> {
  const session = await client.ready();
  const message = benchMessage({ tokens: sizes.throughputTokens, delayMs: 0 });
  const turn = await measureTurn(client, session, message, signal);
  return turn.chunks / (turn.totalMs / 1000);
}

/** The middle value (the upper one of an even count); undefined for none. */
function median(values: readonly number[]): number | undefined {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/**
 * The × floor ratio, measured in pairs: one reply from the server, one from its floor, in
 * alternating order, so both see the same machine at the same moment; the median of the
 * per-pair ratios. (Two medians taken minutes apart on a shared 2-core machine moved ±30 %.)
 */
async function pairedRatio(
  makeSubject: () => BenchClient,
  makeFloor: () => BenchClient,
  sizes: Sizes,
  progress: (line: string) => void,
  protocol: string,
): Promise<number | null> {
  const subject = makeSubject();
  const floor = makeFloor();
  const signal = AbortSignal.timeout(PHASE_TIMEOUT_MS);
  const rate = (client: BenchClient) => throughput(client, sizes, signal);
  try {
    const ratios: number[] = [];
    for (let i = 0; i < sizes.ratioPairs; i++) {
      // Alternate which goes first, so that neither always meets the machine in the same state.
      let mine: number;
      let theirs: number;
      if (i % 2 === 0) {
        mine = await rate(subject);
        theirs = await rate(floor);
      } else {
        theirs = await rate(floor);
        mine = await rate(subject);
      }
      ratios.push(mine / theirs);
    }
    const ratio = median(ratios);
    progress(
      `${protocol.padEnd(16)} × floor (median of ${ratios.length} alternating pairs) ${ratio?.toFixed(2)}`,
    );
    return ratio === undefined ? null : round2(ratio);
  } catch (error) {
    progress(`${protocol.padEnd(16)} × floor: ${(error as Error).message}`);
    return null;
  } finally {
    await subject.close();
    await floor.close();
  }
}

/** latest.md and the SVG charts, from a result. */
export async function writeReport(result: BenchResult, dir: string): Promise<void> {
  await writeFile(join(dir, 'latest.md'), renderMarkdown(result));
  for (const [name, svg] of Object.entries(renderCharts(result))) await writeFile(join(dir, name), svg);
}

export async function runBench(options: BenchOptions = {}): Promise<BenchResult> {
  const startedAt = performance.now();
  const quick = options.quick ?? false;
  const sizes: Sizes = { ...(quick ? QUICK_SIZES : FULL_SIZES), ...options.sizes };
  const progress = options.onProgress ?? ((line: string) => process.stderr.write(`${line}\n`));
  const wanted = options.protocols ?? [...PROTOCOLS];
  // Only protocols whose client loads here are worth starting in the host.
  const { modules, skipped } = await loadProtocols(wanted);
  const withFloors = options.floors ?? true;
  const floorKinds = withFloors ? [...new Set(modules.map((m) => FLOOR_OF[m.protocol]))] : [];
  const host = new HostProcess({ protocols: modules.map((m) => m.protocol), floors: floorKinds });
  const meter = new WireMeter();
  const rows: BenchRow[] = [];
  const floors: BenchRow[] = [];
  const allSkipped: BenchResult['skipped'] = [...skipped];
  try {
    const ready = await host.ready;
    allSkipped.push(...ready.skipped);
    progress(`servers up in a separate process (pid ${host.pid}); ${quick ? 'quick' : 'full'} run`);
    for (const { protocol, target } of ready.servers) {
      const module = modules.find((m) => m.protocol === protocol)!;
      const subject: Subject = {
        name: protocol,
        port: portOf(target),
        isStreaming: protocol !== 'rest',
        make: () => new AdapterClient(module.createAdapter, target),
        idleHost: {
          options: { protocols: [protocol], floors: [] },
          make: (r) => new AdapterClient(module.createAdapter, r.servers[0]!.target),
        },
      };
      rows.push(await measureSubject(subject, sizes, host, meter, progress));
      const floor = ready.floors.find((f) => f.kind === FLOOR_OF[protocol]);
      if (floor) {
        const floorRow = await measureSubject(
          {
            name: `floor:${floor.kind}`,
            port: portOf(floor.target),
            isStreaming: floor.kind !== 'json',
            make: () => floorClient(floor.kind, floor.target),
            idleHost: {
              options: { protocols: [], floors: [floor.kind] },
              make: (r) => floorClient(floor.kind, r.floors[0]!.target),
            },
          },
          sizes,
          host,
          meter,
          progress,
        );
        floorRow.floorOf = protocol;
        floors.push(floorRow);
        const row = rows.at(-1)!;
        row.floorRatio = subject.isStreaming
          ? await pairedRatio(
              subject.make,
              () => floorClient(floor.kind, floor.target),
              sizes,
              progress,
              protocol,
            )
          : null;
      }
    }
  } finally {
    await host.stop();
    meter.close();
  }
  const partial = { protocols: rows, floors, quick, sizes };
  const result: BenchResult = {
    generatedAt: new Date().toISOString(),
    command: options.command ?? `pnpm bench${quick ? ' --quick' : ''}`,
    quick,
    machine: machineInfo(),
    sizes,
    model: { tokensPerReply: REPLY_TOKENS, pacedTokensPerSecond: 1000 / PACED_DELAY_MS },
    protocols: rows,
    floors,
    targets: evaluateTargets(partial),
    skipped: allSkipped,
    durationSeconds: Math.round((performance.now() - startedAt) / 1000),
  };
  if (options.outDir !== null) {
    const dir = options.outDir ?? RESULTS_DIR;
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'latest.json'), `${JSON.stringify(result, null, 2)}\n`);
    await writeReport(result, dir);
    progress(`wrote ${join(dir, 'latest.json')}, latest.md and charts`);
  }
  return result;
}

if (isMain(import.meta.url)) {
  runMain(async () => {
    const { values } = parseArgs({
      options: {
        quick: { type: 'boolean', default: false },
        protocols: { type: 'string' },
        'no-floors': { type: 'boolean', default: false },
        'report-only': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
    if (values.help) {
      console.log('usage: pnpm bench [--quick] [--protocols rest,sse,…] [--no-floors] [--report-only]');
      console.log(
        '  --report-only  rewrite latest.md and the charts from results/latest.json, measuring nothing',
      );
      return;
    }
    if (values['report-only']) {
      const result = JSON.parse(await readFile(join(RESULTS_DIR, 'latest.json'), 'utf8')) as BenchResult;
      await writeReport(result, RESULTS_DIR);
      console.log(`rewrote latest.md and the charts in ${RESULTS_DIR}`);
      if (!result.quick)
        console.log(`updated ${(await updateReadmes(result, REPO_ROOT)).join(', ') || 'no README'}`);
      return;
    }
    const protocols = parseProtocols(values.protocols);
    const args = [
      values.quick ? '--quick' : '',
      values.protocols ? `--protocols ${values.protocols}` : '',
      values['no-floors'] ? '--no-floors' : '',
    ];
    const result = await runBench({
      quick: values.quick,
      protocols,
      floors: !values['no-floors'],
      command: ['pnpm bench', ...args].filter(Boolean).join(' '),
      // A partial run (some protocols, or no floors) must not replace the committed results.
      ...(values.protocols || values['no-floors'] ? { outDir: join(RESULTS_DIR, 'tmp') } : {}),
    });
    console.log(renderMarkdown(result));
    // Only a full run of all five speaks for the READMEs; a quick or partial run does not.
    if (!result.quick && !values.protocols && !values['no-floors']) {
      console.log(`updated ${(await updateReadmes(result, REPO_ROOT)).join(', ') || 'no README'}`);
    }
    process.exit(0);
  });
}
