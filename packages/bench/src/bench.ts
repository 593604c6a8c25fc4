/**
 * `pnpm bench`: the transport benchmark.
 *
 * The servers run in a forked process (server-host.ts) with the bench model; this process is the
 * load generator and drives each protocol through its own ClientAdapter, then the bare-Node floor
 * of the same wire, and writes packages/bench/results/latest.{json,md} and SVG charts.
 *
 *   pnpm bench            full run (~15 minutes on 2 cores)
 *   pnpm bench --quick    CI-sized run (smaller N; about 2 minutes), written to results/tmp/
 *   pnpm bench --only startup   start-up and footprint of the root commands alone
 *   pnpm bench --protocols grpc,websocket --no-floors
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { isMain, PROTOCOLS, type Protocol, runMain } from '@gtp/core';
import { benchMessage } from './bench-model.ts';
import { type CapacityResult, CapacitySearch } from './capacity.ts';
import { AdapterClient, type BenchClient, floorClient } from './clients.ts';
import { FLOOR_OF } from './floors.ts';
import { HostProcess } from './host-process.ts';
import { type MachineInfo, machineInfo } from './machine.ts';
import {
  allowedCpus,
  describePinning,
  type Pinning,
  pinningPlan,
  pinToCore,
  restoreCpus,
} from './pinning.ts';
import { grpcWebModule, loadProtocols, PACKAGES_DIR, parseProtocols } from './protocols.ts';
import { updateReadmes } from './readmes.ts';
import { renderCharts, renderMarkdown, renderStartup } from './report.ts';
import type { HostOptions, HostReady } from './server-host.ts';
import { measureStartup, type StartupResult } from './startup.ts';
import { inBatches, microsPerToken, OPEN_PARALLELISM, runStreams } from './streams.ts';
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
  /** Tokens of each of those replies. */
  pacedTokens: number;
  /** Idle connections opened to measure the server's memory per connection. */
  idleConnections: number;
  /** Streams held open at 20 tokens/s to measure the server's memory per active stream, and their tokens. */
  activeStreams: number;
  activeTokens: number;
  /** Capacity search: first N, ceiling, bisection precision, tokens per stream (at 20 tokens/s). */
  capacityStart: number;
  capacityMax: number;
  capacityPrecision: number;
  capacityTokens: number;
  /** CPU per token: this many streams at 20 tokens/s, cpuTokens each, in cpuPairs alternating pairs. */
  cpuStreams: number;
  cpuTokens: number;
  cpuPairs: number;
  /** Stored sessions, of storedTurns turns each, for the memory per stored session. */
  storedSessions: number;
  storedTurns: number;
}

/**
 * CI-sized: every figure of the full run, each from fewer samples (it must fit in about two
 * minutes on a busy 2-core machine; most of that is starting the 12 fresh server processes the
 * memory figures need).
 */
export const QUICK_SIZES: Sizes = {
  connectSamples: 5,
  warmTurns: 20,
  throughputTokens: 1_000,
  throughputReplies: 1,
  ratioPairs: 2,
  pacedReplies: 1,
  pacedTokens: 20,
  idleConnections: 100,
  activeStreams: 10,
  activeTokens: 20,
  capacityStart: 25,
  capacityMax: 100,
  capacityPrecision: 1,
  capacityTokens: 10,
  cpuStreams: 50,
  cpuTokens: 10,
  cpuPairs: 1,
  storedSessions: 200,
  storedTurns: 10,
};

export const FULL_SIZES: Sizes = {
  connectSamples: 30,
  warmTurns: 300,
  throughputTokens: 5_000,
  throughputReplies: 3,
  ratioPairs: 7,
  pacedReplies: 3,
  pacedTokens: 40,
  idleConnections: 1_000,
  activeStreams: 200,
  activeTokens: 40,
  capacityStart: 100,
  capacityMax: 3_200,
  capacityPrecision: 0.25,
  capacityTokens: 40,
  cpuStreams: 200,
  cpuTokens: 40,
  cpuPairs: 3,
  storedSessions: 10_000,
  storedTurns: 10,
};

/** Tokens of a standard reply (first token, bytes per reply, paced streams). */
export const REPLY_TOKENS = 40;
/** 20 tokens/s, the "realistic" pace. */
export const PACED_DELAY_MS = 50;
/** A session is replaced after this many warm turns, so its history stays small. */
const TURNS_PER_SESSION = 25;
/** Every phase gives up after this long. */
const PHASE_TIMEOUT_MS = 90_000;
/** A failed capacity step is the load generator's when it used this much of its core. */
const SATURATED_PERCENT = 90;

export interface CapacityStep {
  streams: number;
  ok: boolean;
  completed: number;
  failed: number;
  jitterP99Ms: number | null;
  serverCpuPercent: number;
  loadCpuPercent: number;
  error?: string;
}

export interface Capacity {
  /** The largest N that passed (≥ it when atCeiling). */
  streams: number;
  atCeiling: boolean;
  firstFailed: number | null;
  /**
   * What stopped it: the server's core or the load generator's (≥ SATURATED_PERCENT busy in the
   * first failed step), `neither` (jitter while both had CPU to spare: other work on the machine),
   * or the search's ceiling.
   */
  limitedBy: 'server' | 'load generator' | 'neither' | 'ceiling';
  steps: CapacityStep[];
}

export interface CpuPerToken {
  streams: number;
  tokensPerStream: number;
  /** Server CPU µs per token the clients received: median over the runs. */
  microsPerToken: number | null;
  serverCpuPercent: number | null;
  runs: number;
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
  /** Marginal bytes received per token: (long reply − standard reply) / (their token difference). */
  bytesPerToken: number | null;
  /** Server RSS growth per idle connection, KiB (and the JS heap part of it). */
  idleConnectionKiB: number | null;
  idleConnectionHeapKiB: number | null;
  /** Server RSS (and heap) growth per stream while streams run, over the same connections idle, KiB. */
  activeStreamKiB: number | null;
  activeStreamHeapKiB: number | null;
  /** Largest N streams at 20 tokens/s one server core sustains. */
  capacity: Capacity | null;
  cpuPerToken: CpuPerToken | null;
  /** chunksPerSec / the floor's chunksPerSec (median of alternating pairs). */
  floorRatio?: number | null;
  /** capacity / the floor's capacity (searches run in lock-step, trials alternating). */
  capacityRatio?: number | null;
  /** CPU per token / the floor's (median of alternating pairs). */
  cpuRatio?: number | null;
  /**
   * Streams at 20 tokens/s one core could carry at 100 % CPU, from CPU per token: 10⁶ µs /
   * (µs per token × 20). CPU time does not grow when other work delays a process, so this holds
   * where the jitter search cannot (a busy shared machine).
   */
  capacityFromCpu?: number | null;
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

export interface SessionMemory {
  sessions: number;
  turns: number;
  /** RSS and heap growth per stored session, after GC, KiB. */
  perSessionKiB: number;
  perSessionHeapKiB: number;
}

export interface BenchResult {
  generatedAt: string;
  command: string;
  quick: boolean;
  machine: MachineInfo;
  /** Which cores the server and the load generator ran on; comparable only when both pinned. */
  pinning: Pinning;
  /** os.loadavg() (1, 5, 15 min) when the run started and ended: how busy the shared machine was. */
  loadAverage: { start: number[]; end: number[] };
  sizes: Sizes;
  model: { tokensPerReply: number; pacedTokensPerSecond: number };
  protocols: BenchRow[];
  floors: BenchRow[];
  sessionMemory: SessionMemory | null;
  startup: StartupResult | null;
  targets: Target[];
  skipped: { protocol: string; reason: string }[];
  durationSeconds: number;
}

export interface BenchOptions {
  quick?: boolean;
  protocols?: readonly Protocol[];
  floors?: boolean;
  /** The gRPC-Web row (the gRPC server's gRPC-Web listener) when grpc is measured (default true). */
  grpcWeb?: boolean;
  /** Start-up and footprint of the root commands (default: full runs only). */
  startup?: boolean;
  /** Pin the server host and this process to separate cores (default true). */
  pin?: boolean;
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
 * after opening n idle connections, divided by n. Then memory per active stream: `active`
 * clients stream a paced reply, sampled (after GC) midway, against the same clients idle.
 */
async function measureMemory(
  idleHost: IdleHost,
  n: number,
  active: number,
  activeTokens: number,
  isStreaming: boolean,
): Promise<{ rssKiB: number; heapKiB: number; activeRssKiB: number | null; activeHeapKiB: number | null }> {
  const host = new HostProcess(idleHost.options);
  const clients: BenchClient[] = [];
  try {
    const ready = await host.ready;
    if (ready.servers.length + ready.floors.length === 0)
      throw new Error(
        `the fresh server process started nothing: ${ready.skipped.map((x) => x.reason).join('; ') || 'no reason given'}`,
      );
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
    await inBatches(clients.length, OPEN_PARALLELISM, (i) => clients[i]!.close());
    clients.length = 0;
    const trial = await runStreams(() => idleHost.make(ready), host, {
      streams: active,
      tokens: activeTokens,
      delayMs: PACED_DELAY_MS,
      isStreaming,
      sampleMidwayMs: (activeTokens * PACED_DELAY_MS) / 2,
    });
    const m = trial.memory;
    return {
      rssKiB: round2((after.rssBytes - before.rssBytes) / n / 1024),
      heapKiB: round2((after.heapUsedBytes - before.heapUsedBytes) / n / 1024),
      activeRssKiB: m ? round2((m.activeRssBytes - m.idleRssBytes) / active / 1024) : null,
      activeHeapKiB: m ? round2((m.activeHeapBytes - m.idleHeapBytes) / active / 1024) : null,
    };
  } finally {
    await inBatches(clients.length, OPEN_PARALLELISM, (i) => clients[i]!.close());
    await host.stop();
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function measureSubject(
  subject: Subject,
  sizes: Sizes,
  _host: HostProcess,
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
    bytesPerToken: null,
    idleConnectionKiB: null,
    idleConnectionHeapKiB: null,
    activeStreamKiB: null,
    activeStreamHeapKiB: null,
    capacity: null,
    cpuPerToken: null,
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
        const before = meter.count(subject.port);
        for (let i = 0; i < sizes.throughputReplies; i++) rates.push(await throughput(client, sizes, signal));
        const down = (meter.count(subject.port).down - before.down) / sizes.throughputReplies;
        row.chunksPerSec = Math.round(median(rates)!);
        // The long reply and the standard one carry the same headers, start and done: what is
        // left of the difference is the per-token cost of the framing.
        if (row.bytesPerReply !== null && sizes.throughputTokens > REPLY_TOKENS)
          row.bytesPerToken = round2((down - row.bytesPerReply) / (sizes.throughputTokens - REPLY_TOKENS));
        say(`${row.chunksPerSec} chunks/s; ${row.bytesPerToken} B/token`);
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
            benchMessage({ tokens: sizes.pacedTokens, delayMs: PACED_DELAY_MS }),
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
    await phase('memory', async () => {
      const m = await measureMemory(
        subject.idleHost!,
        sizes.idleConnections,
        sizes.activeStreams,
        sizes.activeTokens,
        subject.isStreaming,
      );
      row.idleConnectionKiB = m.rssKiB;
      row.idleConnectionHeapKiB = m.heapKiB;
      row.activeStreamKiB = m.activeRssKiB;
      row.activeStreamHeapKiB = m.activeHeapKiB;
      say(
        `idle connection ${m.rssKiB} KiB RSS (${m.heapKiB} KiB heap), N=${sizes.idleConnections}; ` +
          `active stream +${m.activeRssKiB} KiB RSS (+${m.activeHeapKiB} KiB heap), N=${sizes.activeStreams}`,
      );
    });
  }
  return row;
}

/** Limits of the targets (issue 23 and before). */
export const TARGET_LIMITS = {
  capacityRatio: 0.8,
  cpuRatio: 1.25,
  ttftMs: 1,
  chunksRatio: 0.8,
  idleRatio: 1.5,
  idleKiB: 30,
  clientPromptMs: 1_000,
  idleServerMiB: 60,
  bytesPerToken: 50,
} as const;

/** The targets, each met or not on this run. */
export function evaluateTargets(
  result: Pick<BenchResult, 'protocols' | 'floors' | 'quick' | 'pinning' | 'startup'>,
): Target[] {
  const targets: Target[] = [];
  const L = TARGET_LIMITS;
  const add = (
    name: string,
    protocol: string,
    value: number | null,
    limit: string,
    met: (v: number) => boolean,
    note?: string,
  ) =>
    targets.push({
      name,
      protocol,
      value,
      limit,
      met: value === null ? null : met(value),
      ...(note ? { note } : {}),
    });
  const unpinned = result.pinning.comparable ? undefined : 'pinning failed: not comparable';
  for (const row of result.protocols) {
    const floor = result.floors.find((f) => f.floorOf === row.protocol);
    const streaming = row.protocol !== 'rest';
    // gRPC-Web has no floor of its own and no root command (it is the gRPC server's listener).
    const ownRoot = (PROTOCOLS as readonly string[]).includes(row.protocol);
    const capNote = [
      unpinned,
      row.capacity?.atCeiling ? `≥ the ceiling of ${row.capacity.streams}` : undefined,
      row.capacity && row.capacity.limitedBy === 'load generator'
        ? 'the load generator saturated first'
        : undefined,
      floor?.capacity && floor.capacity.limitedBy === 'load generator'
        ? "the floor's run saturated the load generator"
        : undefined,
    ]
      .filter(Boolean)
      .join('; ');
    // The jitter search speaks only when a core was what stopped both searches; otherwise (jitter
    // with CPU to spare: other work on the machine) the CPU-derived capacity decides.
    const searched = (r: BenchRow | undefined) =>
      r?.capacity !== null &&
      r?.capacity !== undefined &&
      ['server', 'ceiling'].includes(r.capacity.limitedBy);
    const bySearch = searched(row) && searched(floor) && row.capacityRatio != null;
    const fromCpu =
      row.capacityFromCpu && floor?.capacityFromCpu
        ? round2(row.capacityFromCpu / floor.capacityFromCpu)
        : null;
    add(
      `capacity per core ≥ ${L.capacityRatio} × floor`,
      row.protocol,
      bySearch ? (row.capacityRatio ?? null) : fromCpu,
      `≥ ${L.capacityRatio}`,
      (v) => v >= L.capacityRatio,
      [
        bySearch
          ? 'from the jitter search'
          : 'from CPU per token: the jitter search failed with CPU to spare on both cores (other work on the machine)',
        capNote,
      ]
        .filter(Boolean)
        .join('; '),
    );
    add(
      `CPU per token ≤ ${L.cpuRatio} × floor`,
      row.protocol,
      row.cpuRatio ?? null,
      `≤ ${L.cpuRatio}`,
      (v) => v <= L.cpuRatio,
      unpinned,
    );
    if (streaming) {
      add(
        'first-token overhead p50 < 1 ms',
        row.protocol,
        row.ttftMs?.p50 ?? null,
        `< ${L.ttftMs} ms`,
        (v) => v < L.ttftMs,
      );
      add(
        `chunks/s ≥ ${L.chunksRatio} × floor`,
        row.protocol,
        row.floorRatio ?? null,
        `≥ ${L.chunksRatio}`,
        (v) => v >= L.chunksRatio,
      );
    }
    const idleRatio =
      row.idleConnectionKiB !== null && floor?.idleConnectionKiB
        ? round2(row.idleConnectionKiB / Math.max(floor.idleConnectionKiB, 0.5))
        : null;
    add(
      `idle connection memory ≤ ${L.idleRatio} × floor`,
      row.protocol,
      idleRatio,
      `≤ ${L.idleRatio}`,
      (v) => v <= L.idleRatio,
      'floor below 0.5 KiB counts as 0.5',
    );
    add(
      `idle connection < ${L.idleKiB} KiB`,
      row.protocol,
      row.idleConnectionKiB,
      `< ${L.idleKiB} KiB`,
      (v) => v < L.idleKiB,
    );
    if (['streamable-http', 'sse', 'websocket'].includes(row.protocol))
      add(
        `bytes per token ≤ ${L.bytesPerToken}`,
        row.protocol,
        row.bytesPerToken,
        `≤ ${L.bytesPerToken} B`,
        (v) => v <= L.bytesPerToken,
      );
    const start = result.startup?.rows.find((r) => r.protocol === row.protocol);
    add(
      'client at its first prompt < 1 s',
      row.protocol,
      start?.clientPromptMs ?? null,
      `< ${L.clientPromptMs} ms`,
      (v) => v < L.clientPromptMs,
      start ? undefined : 'start-up not measured on this run',
    );
    add(
      `idle server ≤ ${L.idleServerMiB} MB RSS`,
      row.protocol,
      start?.serverRssMiB ?? null,
      `≤ ${L.idleServerMiB} MiB`,
      (v) => v <= L.idleServerMiB,
      start ? undefined : 'start-up not measured on this run',
    );
    if (!ownRoot) {
      // Only what applies: there is no floor to divide by and no command of its own to start.
      const inapplicable = (t: Target) =>
        t.protocol === row.protocol &&
        (t.name.includes('floor') || t.name.startsWith('client at') || t.name.startsWith('idle server'));
      targets.splice(0, targets.length, ...targets.filter((t) => !inapplicable(t)));
    }
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

/** Streams at PACED_DELAY_MS per token that one core carries at 100 % CPU, from CPU per token. */
export function capacityFromCpu(row: BenchRow): number | null {
  const micros = row.cpuPerToken?.microsPerToken;
  return micros ? Math.round(1e6 / (micros * (1000 / PACED_DELAY_MS))) : null;
}

/** Why a failed step failed: whichever process had its core full. */
function limitOf(capacity: CapacityResult, steps: CapacityStep[]): Capacity['limitedBy'] {
  if (capacity.atCeiling) return 'ceiling';
  const failed = steps.find((step) => step.streams === capacity.firstFailed && !step.ok);
  if (!failed) return 'neither';
  if (failed.serverCpuPercent >= SATURATED_PERCENT) return 'server';
  if (failed.loadCpuPercent >= SATURATED_PERCENT) return 'load generator';
  return 'neither';
}

interface Contender {
  name: string;
  row: BenchRow;
  make(): BenchClient;
  isStreaming: boolean;
}

/**
 * Capacity per core of a server and its floor, searched in lock-step: one trial of one, one of
 * the other, alternating which goes first, so both meet the shared machine in the same state.
 */
async function pairedCapacity(
  pair: [Contender] | [Contender, Contender],
  host: HostProcess,
  sizes: Sizes,
  progress: (line: string) => void,
): Promise<void> {
  const options = { start: sizes.capacityStart, max: sizes.capacityMax, precision: sizes.capacityPrecision };
  const searches = pair.map(() => new CapacitySearch(options));
  const steps: CapacityStep[][] = [[], []];
  for (let round = 0; searches.some((s) => !s.done); round++) {
    const order = (round % 2 === 0 ? [0, 1] : [1, 0]).filter((i) => i < pair.length);
    for (const i of order) {
      const n = searches[i]!.next();
      if (n === undefined) continue;
      const who = pair[i]!;
      const trial = await runStreams(who.make, host, {
        streams: n,
        tokens: sizes.capacityTokens,
        delayMs: PACED_DELAY_MS,
        isStreaming: who.isStreaming,
      });
      searches[i]!.record(n, trial.ok);
      steps[i]!.push({
        streams: n,
        ok: trial.ok,
        completed: trial.completed,
        failed: trial.failed,
        jitterP99Ms: trial.jitterMs?.p99 ?? null,
        serverCpuPercent: trial.serverCpuPercent,
        loadCpuPercent: trial.loadCpuPercent,
        ...(trial.firstError ? { error: trial.firstError } : {}),
      });
      progress(
        `${who.name.padEnd(16)} capacity step ${n}: ${trial.ok ? 'pass' : 'FAIL'} (p99 jitter ${trial.jitterMs?.p99 ?? 'n/a'} ms, ` +
          `${trial.failed} failed, server CPU ${trial.serverCpuPercent}%, load generator ${trial.loadCpuPercent}%)`,
      );
    }
  }
  pair.forEach((who, i) => {
    const found = searches[i]!.result();
    who.row.capacity = {
      streams: found.streams,
      atCeiling: found.atCeiling,
      firstFailed: found.firstFailed,
      limitedBy: limitOf(found, steps[i]!),
      steps: steps[i]!,
    };
  });
  const [mine, theirs] = pair.map((who) => who.row.capacity!.streams);
  if (theirs === undefined) {
    progress(`${pair[0].name.padEnd(16)} capacity ${mine} streams/core (no floor)`);
    return;
  }
  pair[0].row.capacityRatio = theirs > 0 ? round2(mine! / theirs) : null;
  progress(
    `${pair[0].name.padEnd(16)} capacity ${mine} streams/core vs floor ${theirs}: ${pair[0].row.capacityRatio}×`,
  );
}

/** CPU per token at a fixed load, server and floor alternating; ratio = median of the pair ratios. */
async function pairedCpu(
  pair: [Contender] | [Contender, Contender],
  host: HostProcess,
  sizes: Sizes,
  progress: (line: string) => void,
): Promise<void> {
  const runs: [number[], number[]] = [[], []];
  const percents: [number[], number[]] = [[], []];
  const ratios: number[] = [];
  for (let p = 0; p < sizes.cpuPairs; p++) {
    const order = (p % 2 === 0 ? [0, 1] : [1, 0]).filter((i) => i < pair.length);
    const perToken: number[] = [0, 0];
    for (const i of order) {
      const who = pair[i]!;
      const trial = await runStreams(who.make, host, {
        streams: sizes.cpuStreams,
        tokens: sizes.cpuTokens,
        delayMs: PACED_DELAY_MS,
        isStreaming: who.isStreaming,
      });
      if (trial.failed > 0)
        throw new Error(
          `${who.name}: ${trial.failed} of ${trial.streams} streams failed: ${trial.firstError}`,
        );
      perToken[i] = microsPerToken(trial) ?? 0;
      runs[i]!.push(perToken[i]!);
      percents[i]!.push(trial.serverCpuPercent);
    }
    if (pair.length > 1 && perToken[1]! > 0) ratios.push(perToken[0]! / perToken[1]!);
  }
  pair.forEach((who, i) => {
    who.row.cpuPerToken = {
      streams: sizes.cpuStreams,
      tokensPerStream: sizes.cpuTokens,
      microsPerToken: median(runs[i]!) ?? null,
      serverCpuPercent: median(percents[i]!) ?? null,
      runs: runs[i]!.length,
    };
  });
  const ratio = median(ratios);
  pair[0].row.cpuRatio = ratio === undefined ? null : round2(ratio);
  for (const who of pair) who.row.capacityFromCpu = capacityFromCpu(who.row);
  progress(
    `${pair[0].name.padEnd(16)} CPU per token at ${sizes.cpuStreams} streams: ${pair[0].row.cpuPerToken?.microsPerToken} µs ` +
      (pair[1]
        ? `vs floor ${pair[1].row.cpuPerToken?.microsPerToken} µs: ${pair[0].row.cpuRatio}× (median of ${ratios.length} pairs)`
        : '(no floor)'),
  );
}

/** Memory per stored session, in a fresh host: sessions of `turns` turns through a ChatService. */
async function measureSessions(sizes: Sizes): Promise<SessionMemory> {
  const host = new HostProcess({ protocols: [], floors: [] });
  try {
    await host.ready;
    const r = await host.populate(sizes.storedSessions, sizes.storedTurns);
    return {
      sessions: r.sessions,
      turns: r.turns,
      perSessionKiB: round2((r.after.rssBytes - r.before.rssBytes) / r.sessions / 1024),
      perSessionHeapKiB: round2((r.after.heapUsedBytes - r.before.heapUsedBytes) / r.sessions / 1024),
    };
  } finally {
    await host.stop();
  }
}

/** latest.md and the SVG charts, from a result. */
export async function writeReport(result: BenchResult, dir: string): Promise<void> {
  await writeFile(join(dir, 'latest.md'), renderMarkdown(result));
  for (const [name, svg] of Object.entries(renderCharts(result))) await writeFile(join(dir, name), svg);
}

export async function runBench(options: BenchOptions = {}): Promise<BenchResult> {
  const startedAt = performance.now();
  const loadAtStart = os.loadavg().map(round2);
  const quick = options.quick ?? false;
  const sizes: Sizes = { ...(quick ? QUICK_SIZES : FULL_SIZES), ...options.sizes };
  const progress =
    options.onProgress ??
    ((line: string) =>
      process.stderr.write(`[${Math.round((performance.now() - startedAt) / 1000)} s] ${line}\n`));
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
  const plan = options.pin === false ? null : pinningPlan();
  const ownCpus = await allowedCpus(process.pid);
  let pinning = describePinning(null, null);
  let sessionMemory: SessionMemory | null = null;
  try {
    const ready = await host.ready;
    allSkipped.push(...ready.skipped);
    if (plan) {
      pinning = describePinning(await host.pin(plan.serverCore), await pinToCore(process.pid, plan.loadCore));
    }
    progress(
      `servers up in a separate process (pid ${host.pid}); ${quick ? 'quick' : 'full'} run; ${pinning.note}`,
    );
    /** Capacity per core and CPU per token of one row (and its floor): a failure is the row's error. */
    const capacityAndCpu = async (contenders: [Contender] | [Contender, Contender], row: BenchRow) => {
      try {
        await pairedCapacity(contenders, host, sizes, progress);
      } catch (error) {
        row.errors.push(`capacity: ${(error as Error).message}`);
      }
      try {
        await pairedCpu(contenders, host, sizes, progress);
      } catch (error) {
        row.errors.push(`CPU per token: ${(error as Error).message}`);
      }
    };
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
      const row = await measureSubject(subject, sizes, host, meter, progress);
      rows.push(row);
      const floor = ready.floors.find((f) => f.kind === FLOOR_OF[protocol]);
      if (!floor) continue;
      const floorSubject: Subject = {
        name: `floor:${floor.kind}`,
        port: portOf(floor.target),
        isStreaming: floor.kind !== 'json',
        make: () => floorClient(floor.kind, floor.target),
        idleHost: {
          options: { protocols: [], floors: [floor.kind] },
          make: (r) => floorClient(floor.kind, r.floors[0]!.target),
        },
      };
      const floorRow = await measureSubject(floorSubject, sizes, host, meter, progress);
      floorRow.floorOf = protocol;
      floors.push(floorRow);
      row.floorRatio = subject.isStreaming
        ? await pairedRatio(subject.make, floorSubject.make, sizes, progress, protocol)
        : null;
      const pair: [Contender, Contender] = [
        { name: protocol, row, make: subject.make, isStreaming: subject.isStreaming },
        {
          name: floorSubject.name,
          row: floorRow,
          make: floorSubject.make,
          isStreaming: floorSubject.isStreaming,
        },
      ];
      await capacityAndCpu(pair, row);
    }
    // gRPC-Web: the gRPC server's own gRPC-Web listener, with connect-node's gRPC-Web client
    // (packages/grpc/src/web-client.ts). No floor: there is no bare-Node gRPC-Web server to set
    // beside it, so its ratios are n/a; its absolute figures sit next to gRPC's.
    const grpcServer = ready.servers.find((s) => s.protocol === 'grpc');
    const grpcModule = modules.find((m) => m.protocol === 'grpc');
    const webTarget = grpcServer?.webTarget;
    if (webTarget && grpcModule && options.grpcWeb !== false) {
      const web = await grpcWebModule(grpcModule);
      const subject: Subject = {
        name: 'grpc-web',
        port: portOf(webTarget),
        isStreaming: true,
        make: () => new AdapterClient(web.createAdapter, webTarget),
        idleHost: {
          options: { protocols: ['grpc'], floors: [] },
          make: (r) => new AdapterClient(web.createAdapter, r.servers[0]!.webTarget!),
        },
      };
      const row = await measureSubject(subject, sizes, host, meter, progress);
      rows.push(row);
      const solo: [Contender] = [{ name: 'grpc-web', row, make: subject.make, isStreaming: true }];
      await capacityAndCpu(solo, row);
    }
  } finally {
    await host.stop();
    meter.close();
    if (plan && ownCpus) await restoreCpus(process.pid, ownCpus);
  }
  try {
    sessionMemory = await measureSessions(sizes);
    progress(
      `stored sessions: ${sessionMemory.perSessionKiB} KiB RSS (${sessionMemory.perSessionHeapKiB} KiB heap) per session of ` +
        `${sizes.storedTurns} turns, N=${sizes.storedSessions}`,
    );
  } catch (error) {
    progress(`stored sessions: ${(error as Error).message}`);
  }
  const startup =
    (options.startup ?? !quick)
      ? await measureStartup(
          modules.map((m) => m.protocol),
          { progress },
        )
      : null;
  const partial = { protocols: rows, floors, quick, pinning, startup };
  const result: BenchResult = {
    generatedAt: new Date().toISOString(),
    command: options.command ?? `pnpm bench${quick ? ' --quick' : ''}`,
    quick,
    machine: machineInfo(),
    pinning,
    loadAverage: { start: loadAtStart, end: os.loadavg().map(round2) },
    sizes,
    model: { tokensPerReply: REPLY_TOKENS, pacedTokensPerSecond: 1000 / PACED_DELAY_MS },
    protocols: rows,
    floors,
    sessionMemory,
    startup,
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
        only: { type: 'string' },
        merge: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
    if (values.help) {
      console.log(
        'usage: pnpm bench [--quick] [--protocols rest,sse,…] [--no-floors] [--report-only] [--only startup]',
      );
      console.log(
        '  --only startup  start-up and footprint of the root commands alone → results/tmp/startup.json',
      );
      console.log(
        '  --merge         (with --only startup) put them into results/latest.json, then as --report-only',
      );
      console.log(
        '  --report-only  rewrite latest.md and the charts from results/latest.json, measuring nothing',
      );
      return;
    }
    if (values['report-only']) {
      const result = JSON.parse(await readFile(join(RESULTS_DIR, 'latest.json'), 'utf8')) as BenchResult;
      // What is derived from the measurements is derived again, so a change of method reaches the report.
      for (const row of [...result.protocols, ...result.floors]) row.capacityFromCpu = capacityFromCpu(row);
      result.targets = evaluateTargets(result);
      await writeFile(join(RESULTS_DIR, 'latest.json'), `${JSON.stringify(result, null, 2)}\n`);
      await writeReport(result, RESULTS_DIR);
      console.log(`rewrote latest.md and the charts in ${RESULTS_DIR}`);
      if (!result.quick)
        console.log(`updated ${(await updateReadmes(result, REPO_ROOT)).join(', ') || 'no README'}`);
      return;
    }
    const protocols = parseProtocols(values.protocols);
    if (values.only !== undefined) {
      if (values.only !== 'startup') throw new Error(`--only ${values.only}: only "startup" runs alone`);
      const startedAt = performance.now();
      const startup = await measureStartup(protocols, {
        progress: (line) =>
          process.stderr.write(`[${Math.round((performance.now() - startedAt) / 1000)} s] ${line}\n`),
      });
      const dir = join(RESULTS_DIR, 'tmp');
      await mkdir(dir, { recursive: true });
      const out = {
        generatedAt: new Date().toISOString(),
        machine: machineInfo(),
        loadAverage: os.loadavg(),
        startup,
      };
      await writeFile(join(dir, 'startup.json'), `${JSON.stringify(out, null, 2)}\n`);
      console.log(renderStartup(startup));
      console.log(`wrote ${join(dir, 'startup.json')}`);
      if (values.merge) {
        const file = join(RESULTS_DIR, 'latest.json');
        const result = JSON.parse(await readFile(file, 'utf8')) as BenchResult;
        const load = os.loadavg().map(round2).join(' / ');
        result.startup = {
          ...startup,
          note: `Re-measured after the run by \`pnpm bench --only startup --merge\` (${out.generatedAt.slice(0, 16)}Z, load average ${load}).`,
        };
        result.targets = evaluateTargets(result);
        await writeFile(file, `${JSON.stringify(result, null, 2)}\n`);
        await writeReport(result, RESULTS_DIR);
        console.log(`merged into ${file}; rewrote latest.md and the charts`);
        if (!result.quick)
          console.log(`updated ${(await updateReadmes(result, REPO_ROOT)).join(', ') || 'no README'}`);
      }
      process.exit(0);
    }
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
      // A quick or partial run (some protocols, or no floors) must not replace the committed results.
      ...(values.quick || values.protocols || values['no-floors']
        ? { outDir: join(RESULTS_DIR, 'tmp') }
        : {}),
    });
    console.log(renderMarkdown(result));
    // Only a full run of all five speaks for the READMEs; a quick or partial run does not.
    if (!result.quick && !values.protocols && !values['no-floors']) {
      console.log(`updated ${(await updateReadmes(result, REPO_ROOT)).join(', ') || 'no README'}`);
    }
    process.exit(0);
  });
}
