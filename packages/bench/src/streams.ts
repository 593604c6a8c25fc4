/**
 * One load trial: N clients, each on its own connection and session, stream one paced reply at
 * the same time. What it reports decides a capacity step (every stream complete, no errors,
 * p99 jitter under JITTER_LIMIT_MS) and gives CPU per token: the server process's CPU time, read
 * over IPC from the host (process.cpuUsage), per token the clients received.
 */
import { setMaxListeners } from 'node:events';
import { benchMessage } from './bench-model.ts';
import type { BenchClient } from './clients.ts';
import type { HostProcess } from './host-process.ts';
import { gaps, measureTurn, p50p99, round2 } from './turn.ts';

/** A capacity step passes only with p99 inter-chunk jitter below this. */
export const JITTER_LIMIT_MS = 20;
/** How many clients connect at once while opening N. */
export const OPEN_PARALLELISM = 50;
/** A trial gives up after this long. */
const TRIAL_TIMEOUT_MS = 120_000;

export interface StreamsOptions {
  streams: number;
  tokens: number;
  delayMs: number;
  /** REST sends one chunk per reply: its "jitter" is how late the whole reply is. */
  isStreaming: boolean;
  /** Sample the host's memory (after GC) this long after the streams start, and before they do. */
  sampleMidwayMs?: number;
}

export interface StreamsTrial {
  streams: number;
  completed: number;
  failed: number;
  firstError?: string;
  /** |gap − delay| between chunks over every stream (REST: |reply time − ideal|), ms. */
  jitterMs: { p50: number; p99: number } | null;
  /** Tokens the clients received. */
  tokens: number;
  /** Server process CPU time while the streams ran, µs. */
  serverCpuMicros: number;
  /** This process's (the load generator's) CPU time, µs. */
  loadCpuMicros: number;
  durationMs: number;
  /** Server CPU, % of one core; load generator CPU, % of one core. */
  serverCpuPercent: number;
  loadCpuPercent: number;
  /** Host memory after GC with the clients connected but idle, and midway through the streams. */
  memory?: { idleRssBytes: number; idleHeapBytes: number; activeRssBytes: number; activeHeapBytes: number };
  /** Passed the capacity criteria. */
  ok: boolean;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function inBatches<T>(
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

const cpuMicros = (usage: { user: number; system: number }) => usage.user + usage.system;

export async function runStreams(
  make: () => BenchClient,
  host: HostProcess,
  options: StreamsOptions,
): Promise<StreamsTrial> {
  const n = options.streams;
  const clients: BenchClient[] = [];
  try {
    const sessions: string[] = new Array(n);
    const opened = await inBatches(n, OPEN_PARALLELISM, async (i) => {
      const client = make();
      clients[i] = client;
      sessions[i] = await client.ready();
    });
    const failedToOpen = opened.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    if (failedToOpen.length > 0) {
      return {
        streams: n,
        completed: 0,
        failed: n,
        firstError: `${failedToOpen.length} clients failed to connect, e.g. ${String(failedToOpen[0]!.reason?.message ?? failedToOpen[0]!.reason)}`,
        jitterMs: null,
        tokens: 0,
        serverCpuMicros: 0,
        loadCpuMicros: 0,
        durationMs: 0,
        serverCpuPercent: 0,
        loadCpuPercent: 0,
        ok: false,
      };
    }
    const idle = options.sampleMidwayMs !== undefined ? await host.sample(true) : undefined;
    const signal = AbortSignal.timeout(TRIAL_TIMEOUT_MS);
    setMaxListeners(2 * n + 10, signal);
    const message = benchMessage({ tokens: options.tokens, delayMs: options.delayMs });
    const before = await host.sample();
    const loadBefore = process.cpuUsage();
    const t0 = performance.now();
    const midway =
      options.sampleMidwayMs !== undefined
        ? sleep(options.sampleMidwayMs).then(() => host.sample(true))
        : undefined;
    // Real clients do not start in lock-step: spread the starts over one token interval.
    const turns = await Promise.allSettled(
      clients.map(async (client, i) => {
        await sleep(Math.random() * options.delayMs);
        return measureTurn(client, sessions[i]!, message, signal);
      }),
    );
    const durationMs = performance.now() - t0;
    const loadCpu = cpuMicros(process.cpuUsage(loadBefore));
    const after = await host.sample();
    const active = await midway;
    const jitter: number[] = [];
    let completed = 0;
    let tokens = 0;
    const ideal = (options.tokens - 1) * options.delayMs;
    for (const turn of turns) {
      if (turn.status !== 'fulfilled') continue;
      completed += 1;
      if (options.isStreaming) {
        tokens += turn.value.chunks;
        for (const gap of gaps(turn.value.deltaAtMs)) jitter.push(Math.abs(gap - options.delayMs));
      } else {
        tokens += options.tokens;
        jitter.push(Math.abs(turn.value.totalMs - ideal));
      }
    }
    const serverCpu =
      after.cpuUserMicros - before.cpuUserMicros + (after.cpuSystemMicros - before.cpuSystemMicros);
    const firstFailure = turns.find((t) => t.status === 'rejected') as PromiseRejectedResult | undefined;
    const jitterMs = p50p99(jitter);
    const failed = n - completed;
    return {
      streams: n,
      completed,
      failed,
      ...(firstFailure ? { firstError: String(firstFailure.reason?.message ?? firstFailure.reason) } : {}),
      jitterMs,
      tokens,
      serverCpuMicros: serverCpu,
      loadCpuMicros: loadCpu,
      durationMs: Math.round(durationMs),
      serverCpuPercent: Math.round(serverCpu / 10 / durationMs),
      loadCpuPercent: Math.round(loadCpu / 10 / durationMs),
      ...(idle && active
        ? {
            memory: {
              idleRssBytes: idle.rssBytes,
              idleHeapBytes: idle.heapUsedBytes,
              activeRssBytes: active.rssBytes,
              activeHeapBytes: active.heapUsedBytes,
            },
          }
        : {}),
      ok: failed === 0 && jitterMs !== null && jitterMs.p99 < JITTER_LIMIT_MS,
    };
  } finally {
    await inBatches(clients.length, OPEN_PARALLELISM, (i) => clients[i]?.close() ?? Promise.resolve());
  }
}

export const microsPerToken = (trial: StreamsTrial) =>
  trial.tokens > 0 ? round2(trial.serverCpuMicros / trial.tokens) : null;
