/**
 * `pnpm compare`: the same scripted conversation through all five protocols, side by side.
 *
 * Starts every server in this process on an ephemeral loopback port, each with its own
 * ChatService built from the environment (the simulated model at its realistic pace, or Gemini
 * when GEMINI_API_KEY is set), then talks to each through the protocol's own client adapter,
 * one protocol at a time so the timings do not disturb each other, and prints a table.
 *
 *   pnpm compare                         all five, three turns
 *   pnpm compare --protocols rest,sse    some of them
 *   pnpm compare --turns 1 --json        machine-readable
 *   pnpm compare --network 3g            each client behind the network-conditions proxy
 *   pnpm compare --tls                   every server over TLS (HTTP/2 where the client offers it)
 *   pnpm compare --matrix                every protocol × scenario → results/conditions.{json,md,svg}
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  ChatService,
  type Config,
  describeModel,
  isMain,
  loadConfig,
  type ModelInfo,
  type Protocol,
  runMain,
} from '@gtp/core';
import { type NetworkProfile, type NetworkProxy, profile, startProxy } from '@gtp/netem';
import { runMatrix } from './conditions.ts';
import { updateConditionsReadme, writeConditions } from './conditions-report.ts';
import { benchTls } from './dev-tls.ts';
import { describeMachine, type MachineInfo, machineInfo } from './machine.ts';
import { progressBar } from './progress.ts';
import {
  grpcWebModule,
  loadProtocols,
  parseProtocols,
  type Subject,
  type SubjectModule,
} from './protocols.ts';
import { buildScenarios, FULL_SIZES, type MatrixSizes, type ScenarioKind } from './scenarios.ts';
import { measureTurn, round2 } from './turn.ts';
import { portOf, WireMeter } from './wire.ts';

/** What the user says, turn by turn. The third turn checks that the history reached the model. */
export const SCRIPT = [
  'Hello! In one sentence, what does a network transport add to a chat with a model?',
  'Which of REST, SSE, WebSocket and gRPC shows the first words soonest, and why?',
  'Remind me what I asked you first, in a few words.',
] as const;

/** A live model gets this long per turn before the turn counts as failed. */
export const TURN_TIMEOUT_MS = 120_000;

export interface CompareOptions {
  protocols?: readonly Protocol[];
  turns?: number;
  /** Defaults to the environment (loadConfig), with quieter server logs. */
  config?: Config;
  /** Progress lines (stderr by default). */
  onProgress?: (line: string) => void;
  /** Put each client behind the network-conditions proxy with this profile (none: straight to loopback). */
  network?: NetworkProfile;
  /** Every server over TLS (a development certificate), every client trusting its CA. */
  tls?: boolean;
}

export interface CompareTurn {
  ttftMs: number;
  totalMs: number;
  chunks: number;
  /** TCP payload bytes the client received / sent during the turn. */
  wireBytesDown: number;
  wireBytesUp: number;
  /** Bytes of response payload the adapter counted (its bytesReceived()). */
  payloadBytes: number;
  text: string;
}

export interface CompareRow {
  protocol: Subject;
  /** What was run and on which network, so that runs can be diffed. */
  scenario: 'turns';
  profile: string;
  /** Round trips the network proxy saw before each turn's first token, summed (null without --network). */
  roundTrips: number | null;
  /** New adapter → session created and ready to send (WebSocket joined, SSE stream open), ms. */
  connectMs: number | null;
  /** Means over the turns. */
  ttftMs: number | null;
  totalMs: number | null;
  /** Sums over the turns. */
  chunks: number | null;
  wireBytesDown: number | null;
  wireBytesUp: number | null;
  payloadBytes: number | null;
  turns: CompareTurn[];
  error?: string;
}

export interface CompareResult {
  model: ModelInfo;
  turns: number;
  machine: MachineInfo;
  rows: CompareRow[];
  skipped: { protocol: Protocol; reason: string }[];
  /** True/false for the simulated model; 'n/a (live model)' for Gemini, whose replies differ. */
  agree: boolean | 'n/a (live model)';
  disagreements: string[];
}

const mean = (values: number[]) => round2(values.reduce((a, b) => a + b, 0) / values.length);
const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

export async function runCompare(options: CompareOptions = {}): Promise<CompareResult> {
  const base = options.config ?? loadConfig();
  const config: Config = {
    ...(options.config ?? { ...base, logLevel: process.env.LOG_LEVEL ? base.logLevel : 'warn' }),
    ...(options.tls ? { tls: benchTls().server } : {}),
  };
  const adapterOptions = options.tls ? { ca: benchTls().ca } : {};
  const turns = Math.max(1, Math.min(options.turns ?? SCRIPT.length, 20));
  const progress = options.onProgress ?? ((line: string) => process.stderr.write(`${line}\n`));
  const loaded = await loadProtocols(options.protocols ?? parseProtocols(undefined));
  const { skipped } = loaded;
  // With gRPC, its gRPC-Web listener is a row too (connect-node's gRPC-Web client from Node).
  const grpc = loaded.modules.find((m) => m.protocol === 'grpc');
  const modules: SubjectModule[] = [...loaded.modules, ...(grpc ? [await grpcWebModule(grpc)] : [])];
  for (const s of skipped) progress(`skipping ${s.protocol}: ${s.reason}`);

  const meter = new WireMeter();
  const started: { protocol: Subject; close: () => Promise<void>; target: string; proxy?: NetworkProxy }[] =
    [];
  const rows: CompareRow[] = [];
  let model: ModelInfo = {
    provider: config.provider,
    id: config.provider === 'gemini' ? config.modelId : 'simulated-1',
  };
  try {
    for (const m of modules) {
      const server = await m.createServer({
        config,
        chat: ChatService.fromConfig(config, m.protocol === 'grpc-web' ? 'grpc' : m.protocol),
      });
      const serverTarget = await server.listen({ port: 0, host: '127.0.0.1' });
      let target = serverTarget;
      let proxy: NetworkProxy | undefined;
      if (options.network) {
        proxy = await startProxy({ target: { port: portOf(serverTarget) }, profile: options.network });
        target = serverTarget.replace(/:\d+(\/?)$/, `:${proxy.port}$1`);
      }
      const close = async () => {
        await proxy?.close();
        await server.close();
      };
      started.push({ protocol: m.protocol, close, target, proxy });
      model = server.chat.model.info;
    }
    progress(
      `${started.length} servers on loopback${options.tls ? ' over TLS' : ''}${options.network ? `, each behind the ${options.network.name} profile` : ''}; model: ${describeModel(model)}`,
    );

    // Warm the code paths (module init, first request) so the first protocol does not pay for all.
    for (const { protocol, target } of started) {
      const adapter = modules.find((m) => m.protocol === protocol)!.createAdapter(target, adapterOptions);
      try {
        await adapter.health();
      } catch {
        // The measured run below reports the failure.
      } finally {
        await adapter.close().catch(() => undefined);
      }
    }

    for (const { protocol, target, proxy } of started) {
      const module = modules.find((m) => m.protocol === protocol)!;
      const row: CompareRow = {
        protocol,
        scenario: 'turns',
        profile: `${options.network?.name ?? 'loopback (no proxy)'}${options.tls ? ', TLS' : ''}`,
        roundTrips: proxy ? 0 : null,
        connectMs: null,
        ttftMs: null,
        totalMs: null,
        chunks: null,
        wireBytesDown: null,
        wireBytesUp: null,
        payloadBytes: null,
        turns: [],
      };
      rows.push(row);
      const port = portOf(target);
      let adapter: ReturnType<typeof module.createAdapter> | undefined;
      try {
        const t0 = performance.now();
        adapter = module.createAdapter(target, adapterOptions);
        const session = await adapter.createSession();
        await adapter.useSession?.(session.id);
        row.connectMs = round2(performance.now() - t0);
        progress(`${protocol.padEnd(16)} connected in ${row.connectMs} ms`);
        for (let i = 0; i < turns; i++) {
          const text = SCRIPT[i % SCRIPT.length]!;
          const wireBefore = meter.count(port);
          const payloadBefore = adapter.bytesReceived();
          const tripsBefore = proxy?.stats().roundTrips ?? 0;
          const turn = await measureTurn(adapter, session.id, text, AbortSignal.timeout(TURN_TIMEOUT_MS));
          if (proxy && row.roundTrips !== null) row.roundTrips += proxy.stats().roundTrips - tripsBefore;
          const wireAfter = meter.count(port);
          row.turns.push({
            ttftMs: round2(turn.ttftMs),
            totalMs: round2(turn.totalMs),
            chunks: turn.chunks,
            wireBytesDown: wireAfter.down - wireBefore.down,
            wireBytesUp: wireAfter.up - wireBefore.up,
            payloadBytes: adapter.bytesReceived() - payloadBefore,
            text: turn.text,
          });
          progress(
            `${protocol.padEnd(16)} turn ${i + 1}/${turns}: first token ${round2(turn.ttftMs)} ms, ` +
              `done ${round2(turn.totalMs)} ms, ${turn.chunks} chunks`,
          );
        }
        row.ttftMs = mean(row.turns.map((t) => t.ttftMs));
        row.totalMs = mean(row.turns.map((t) => t.totalMs));
        row.chunks = sum(row.turns.map((t) => t.chunks));
        row.wireBytesDown = sum(row.turns.map((t) => t.wireBytesDown));
        row.wireBytesUp = sum(row.turns.map((t) => t.wireBytesUp));
        row.payloadBytes = sum(row.turns.map((t) => t.payloadBytes));
      } catch (error) {
        row.error = error instanceof Error ? error.message : String(error);
        progress(`${protocol.padEnd(16)} FAILED: ${row.error}`);
      } finally {
        await adapter?.close().catch(() => undefined);
      }
    }
  } finally {
    await Promise.allSettled(started.map((s) => s.close()));
    meter.close();
  }

  const disagreements: string[] = [];
  let agree: CompareResult['agree'] = 'n/a (live model)';
  if (model.provider === 'simulated') {
    const complete = rows.filter((r) => !r.error);
    const reference = complete[0];
    for (const row of rows) {
      if (row.error) disagreements.push(`${row.protocol}: no reply (${row.error})`);
      else if (reference && row !== reference) {
        row.turns.forEach((t, i) => {
          if (t.text !== reference.turns[i]?.text) {
            disagreements.push(`${row.protocol} turn ${i + 1} differs from ${reference.protocol}`);
          }
        });
      }
    }
    agree = complete.length > 0 && disagreements.length === 0;
  }
  return { model, turns, machine: machineInfo(), rows, skipped, agree, disagreements };
}

const fmt = (value: number | null, digits = 1) =>
  value === null
    ? '—'
    : value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const fmtInt = (value: number | null) => (value === null ? '—' : value.toLocaleString('en-US'));

/** The side-by-side table, as printed by `pnpm compare`. */
export function formatCompare(result: CompareResult): string {
  const header = [
    'protocol',
    'set-up ms',
    'first token ms',
    'total ms',
    'chunks',
    'wire bytes ↓',
    'wire bytes ↑',
  ];
  const body = result.rows.map((r) =>
    r.error
      ? [r.protocol, 'failed', r.error.slice(0, 60), '', '', '', '']
      : [
          r.protocol,
          fmt(r.connectMs),
          fmt(r.ttftMs),
          fmt(r.totalMs),
          fmtInt(r.chunks),
          fmtInt(r.wireBytesDown),
          fmtInt(r.wireBytesUp),
        ],
  );
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  const rule = widths.map((w) => '─'.repeat(w)).join('  ');
  const agree =
    result.agree === true
      ? `yes — all ${result.rows.length} replies are identical, turn by turn`
      : result.agree === false
        ? `NO — ${result.disagreements.join('; ')}`
        : result.agree;
  return [
    `model: ${describeModel(result.model)}`,
    `network: ${result.rows[0]?.profile ?? 'loopback (no proxy)'}`,
    `machine: ${describeMachine(result.machine)}`,
    '',
    line(header),
    rule,
    ...body.map(line),
    rule,
    `replies agree: ${agree}`,
    ...result.skipped.map((s) => `skipped ${s.protocol}: ${s.reason}`),
    '',
    `set-up: new client → session created and ready to send (WebSocket joined, SSE stream open, gRPC channel up).`,
    `first token, total: mean over ${result.turns} turn(s), measured in the client from send() to the first text / the done event.`,
    'chunks: delta events received (REST has no streaming: one per turn). wire bytes: TCP payload the client',
    'received (↓) and sent (↑) during the turns, headers and framing included, counted on its sockets.',
    "grpc-web: the gRPC server's gRPC-Web listener (HTTP/1.1), with connect-node's gRPC-Web client from Node.",
  ].join('\n');
}

export const RESULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'results');
const REPO_ROOT = join(RESULTS_DIR, '..', '..', '..');

function usage(): string {
  return [
    'usage: pnpm compare [--protocols rest,streamable-http,sse,websocket,grpc] [--turns 3] [--json]',
    '                    [--network loopback|broadband|4g|3g|lossy-4g] [--tls] [--out DIR (writes DIR/compare.json)]',
    '       pnpm compare --matrix [--protocols …] [--only turns,slow-model,cut] [--profiles 3g,4g]',
    '                    [--slow-ttft-ms 30000] [--idle-timeout-ms 10000] [--short-heartbeat-ms 5000] [--out dir]',
    '',
    'Runs the same scripted conversation through each protocol and prints a side-by-side table.',
    'The simulated model is used offline (SIM_TTFT_MS, SIM_TOKEN_DELAY_MS pace it); GEMINI_API_KEY selects Gemini.',
    '--tls runs every server over TLS (a development certificate; HTTP/2 for the clients that offer it);',
    '  with --matrix every network scenario also runs over TLS (turns-tls/<profile>).',
    '--network puts each client behind the user-space network proxy (@gtp/netem) with that profile.',
    '--matrix runs every protocol × scenario (networks, nginx default and tuned, a slow model behind an',
    'idle time-out, a cut mid-reply) and writes results/conditions.{json,md,svg}; a full-size run (no',
    '--only/--profiles/--protocols, real durations) also updates the root README section.',
  ].join('\n');
}

function positive(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`--${name} must be a positive whole number of ms, got "${value}"\n\n${usage()}`);
    process.exit(2);
  }
  return n;
}

if (isMain(import.meta.url)) {
  runMain(async () => {
    const { values } = parseArgs({
      options: {
        protocols: { type: 'string' },
        turns: { type: 'string' },
        json: { type: 'boolean', default: false },
        network: { type: 'string' },
        matrix: { type: 'boolean', default: false },
        only: { type: 'string' },
        profiles: { type: 'string' },
        'slow-ttft-ms': { type: 'string' },
        'idle-timeout-ms': { type: 'string' },
        'short-heartbeat-ms': { type: 'string' },
        out: { type: 'string' },
        tls: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
    if (values.help) {
      console.log(usage());
      return;
    }
    let protocols: Protocol[];
    try {
      protocols = parseProtocols(values.protocols);
    } catch (error) {
      console.error(`${(error as Error).message}\n\n${usage()}`);
      process.exit(2);
    }
    if (values.matrix) {
      const sizes: MatrixSizes = {
        ...FULL_SIZES,
        slowTtftMs: positive('slow-ttft-ms', values['slow-ttft-ms'], FULL_SIZES.slowTtftMs),
        idleTimeoutMs: positive('idle-timeout-ms', values['idle-timeout-ms'], FULL_SIZES.idleTimeoutMs),
        shortHeartbeatMs: positive(
          'short-heartbeat-ms',
          values['short-heartbeat-ms'],
          FULL_SIZES.shortHeartbeatMs,
        ),
      };
      const kinds = values.only?.split(',').map((k) => k.trim()) as ScenarioKind[] | undefined;
      const profiles = values.profiles?.split(',').map((p) => p.trim());
      for (const p of profiles ?? []) profile(p); // throws on an unknown name
      const scenarios = buildScenarios(sizes, { kinds, profiles, tls: values.tls });
      const argv = process.argv.slice(2).join(' ');
      const bar = progressBar(process.stderr);
      const result = await runMatrix({
        scenarios,
        protocols,
        command: `pnpm compare ${argv}`.trim(),
        onStep: (done, total, label) => bar.update(done, total, label),
        onLog: (line) => bar.log(line),
      });
      bar.done();
      const full =
        !values.only &&
        !values.profiles &&
        !values.protocols &&
        sizes.slowTtftMs === FULL_SIZES.slowTtftMs &&
        sizes.idleTimeoutMs === FULL_SIZES.idleTimeoutMs &&
        !values.out;
      const dir = values.out ?? (full ? RESULTS_DIR : join(RESULTS_DIR, 'tmp'));
      await import('node:fs/promises').then((fs) => fs.mkdir(dir, { recursive: true }));
      await writeConditions(result, dir);
      console.error(`wrote ${join(dir, 'conditions.json')}, conditions.md and conditions.svg`);
      if (full && (await updateConditionsReadme(result, REPO_ROOT))) console.error('updated README.md');
      if (values.json) console.log(JSON.stringify(result, null, 2));
      process.exit(result.rows.length === 0 ? 1 : 0);
    }
    const turns = values.turns === undefined ? SCRIPT.length : Number(values.turns);
    if (!Number.isInteger(turns) || turns < 1 || turns > 20) {
      console.error(`--turns must be a whole number from 1 to 20, got "${values.turns}"\n\n${usage()}`);
      process.exit(2);
    }
    let network: NetworkProfile | undefined;
    if (values.network) {
      try {
        network = profile(values.network);
      } catch (error) {
        console.error(`${(error as Error).message}\n\n${usage()}`);
        process.exit(2);
      }
    }
    const result = await runCompare({ protocols, turns, network, tls: values.tls });
    if (values.json) console.log(JSON.stringify(result, null, 2));
    if (values.out) {
      // --out DIR: the run as DIR/compare.json (the numbers a README quotes come from such a file).
      await import('node:fs/promises').then(async (fs) => {
        await fs.mkdir(values.out!, { recursive: true });
        await fs.writeFile(join(values.out!, 'compare.json'), `${JSON.stringify(result, null, 2)}\n`);
      });
      console.error(`wrote ${join(values.out, 'compare.json')}`);
    } else console.log(`\n${formatCompare(result)}`);
    const failed = result.rows.some((r) => r.error) || result.agree === false || result.rows.length === 0;
    process.exit(failed ? 1 : 0);
  });
}
