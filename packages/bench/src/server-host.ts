/**
 * The benchmark's server process. `bench.ts` forks it, so the load generator never shares an
 * event loop or a heap with the servers it measures. It starts the requested protocols' servers
 * (each with its own ChatService and the bench model) and the bare-Node floors on ephemeral
 * loopback ports, reports their addresses, and answers samples of its memory and CPU over IPC.
 *
 *   parent → host: { type: 'sample', id, gc }   host → parent: { type: 'sample', id, rss, … }
 *                  { type: 'stop' }                               { type: 'ready', servers, floors, skipped }
 */
import { ChatService, type Config, loadConfig, type Protocol } from '@gtp/core';
import { BenchModel, benchMessage } from './bench-model.ts';
import { type FloorKind, type FloorServer, startFloor } from './floors.ts';
import { loadProtocols } from './protocols.ts';

export interface HostOptions {
  protocols: Protocol[];
  floors: FloorKind[];
}

export interface HostReady {
  type: 'ready';
  /** `webTarget`: the gRPC server's gRPC-Web listener (the bench's grpc-web row). */
  servers: { protocol: Protocol; target: string; webTarget?: string }[];
  floors: { kind: FloorKind; target: string }[];
  skipped: { protocol: Protocol; reason: string }[];
}

export interface HostSample {
  type: 'sample';
  id: number;
  rssBytes: number;
  heapUsedBytes: number;
  /** process.cpuUsage(), µs. */
  cpuUserMicros: number;
  cpuSystemMicros: number;
}

/** The memory of stored sessions: RSS and heap after GC, before and after storing them. */
export interface HostPopulated {
  type: 'populated';
  id: number;
  sessions: number;
  turns: number;
  before: { rssBytes: number; heapUsedBytes: number };
  after: { rssBytes: number; heapUsedBytes: number };
}

export type HostRequest =
  | { type: 'sample'; id: number; gc?: boolean }
  | { type: 'populate'; id: number; sessions: number; turns: number }
  | { type: 'stop' };

const gc = (globalThis as { gc?: () => void }).gc;
/** Services populated on request stay referenced, so their sessions stay in memory. */
const keep: ChatService[] = [];

async function collect(): Promise<void> {
  if (!gc) return;
  gc();
  await new Promise((resolve) => setTimeout(resolve, 50));
  gc();
}

async function settledMemory(): Promise<{ rssBytes: number; heapUsedBytes: number }> {
  await collect();
  const memory = process.memoryUsage();
  return { rssBytes: memory.rss, heapUsedBytes: memory.heapUsed };
}

async function main(): Promise<void> {
  const options = JSON.parse(process.argv[2] ?? '{}') as HostOptions;
  // The environment's defaults, minus what would throttle a load test: every benchmark client
  // comes from 127.0.0.1, so the per-client rate limit would refuse the load generator itself.
  const config: Config = {
    ...loadConfig({}),
    logLevel: 'silent',
    simTtftMs: 0,
    simTokenDelayMs: 0,
    rateLimitMax: 0,
    maxConcurrentStreams: 100_000,
  };
  const { modules, skipped } = await loadProtocols(options.protocols);
  const closers: (() => Promise<void>)[] = [];
  const servers: HostReady['servers'] = [];
  for (const m of modules) {
    try {
      const chat = ChatService.fromConfig(config, m.protocol, { model: new BenchModel() });
      const server = await m.createServer({ config, chat });
      const target = await server.listen({ port: 0, host: '127.0.0.1' });
      const { webUrl } = server as { webUrl?: string };
      servers.push({ protocol: m.protocol, target, ...(webUrl ? { webTarget: webUrl } : {}) });
      closers.push(() => server.close());
    } catch (error) {
      skipped.push({ protocol: m.protocol, reason: `createServer failed: ${(error as Error).message}` });
    }
  }
  const floors: FloorServer[] = [];
  for (const kind of options.floors) floors.push(await startFloor(kind));
  closers.push(...floors.map((f) => () => f.close()));

  process.on('message', async (message: HostRequest) => {
    if (message.type === 'stop') {
      await Promise.race([
        Promise.allSettled(closers.map((close) => close())),
        new Promise((resolve) => setTimeout(resolve, 5_000)),
      ]);
      process.exit(0);
    }
    if (message.type === 'populate') {
      // Every server keeps its sessions in a ChatService like this one (the in-memory store):
      // the turns run through reply(), so the reply log's retained events count too.
      const chat = ChatService.fromConfig(config, 'bench', { model: new BenchModel() });
      const before = await settledMemory();
      for (let s = 0; s < message.sessions; s++) {
        const session = await chat.createSession();
        for (let t = 0; t < message.turns; t++) {
          for await (const _event of chat.reply(session.id, benchMessage({ tokens: 40, delayMs: 0 }))) {
            // drained
          }
        }
      }
      const after = await settledMemory();
      const populated: HostPopulated = {
        type: 'populated',
        id: message.id,
        sessions: message.sessions,
        turns: message.turns,
        before,
        after,
      };
      process.send?.(populated);
      keep.push(chat);
      return;
    }
    if (message.type === 'sample') {
      if (message.gc) await collect();
      const memory = process.memoryUsage();
      const cpu = process.cpuUsage();
      const sample: HostSample = {
        type: 'sample',
        id: message.id,
        rssBytes: memory.rss,
        heapUsedBytes: memory.heapUsed,
        cpuUserMicros: cpu.user,
        cpuSystemMicros: cpu.system,
      };
      process.send?.(sample);
    }
  });
  // The parent going away ends the host too.
  process.on('disconnect', () => process.exit(0));
  const ready: HostReady = {
    type: 'ready',
    servers,
    floors: floors.map((f) => ({ kind: f.kind, target: f.target })),
    skipped,
  };
  process.send?.(ready);
}

main().catch((error: unknown) => {
  console.error('server host failed:', error);
  process.exit(1);
});
