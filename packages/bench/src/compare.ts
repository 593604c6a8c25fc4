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
 */
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
import { describeMachine, type MachineInfo, machineInfo } from './machine.ts';
import { loadProtocols, parseProtocols } from './protocols.ts';
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
  protocol: Protocol;
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
  const config: Config = options.config ?? {
    ...base,
    logLevel: process.env.LOG_LEVEL ? base.logLevel : 'warn',
  };
  const turns = Math.max(1, Math.min(options.turns ?? SCRIPT.length, 20));
  const progress = options.onProgress ?? ((line: string) => process.stderr.write(`${line}\n`));
  const { modules, skipped } = await loadProtocols(options.protocols ?? parseProtocols(undefined));
  for (const s of skipped) progress(`skipping ${s.protocol}: ${s.reason}`);

  const meter = new WireMeter();
  const started: { protocol: Protocol; close: () => Promise<void>; target: string }[] = [];
  const rows: CompareRow[] = [];
  let model: ModelInfo = {
    provider: config.provider,
    id: config.provider === 'gemini' ? config.modelId : 'simulated-1',
  };
  try {
    for (const m of modules) {
      const server = await m.createServer({ config, chat: ChatService.fromConfig(config, m.protocol) });
      const target = await server.listen({ port: 0, host: '127.0.0.1' });
      started.push({ protocol: m.protocol, close: () => server.close(), target });
      model = server.chat.model.info;
    }
    progress(`${started.length} servers on loopback; model: ${describeModel(model)}`);

    // Warm the code paths (module init, first request) so the first protocol does not pay for all.
    for (const { protocol, target } of started) {
      const adapter = modules.find((m) => m.protocol === protocol)!.createAdapter(target);
      try {
        await adapter.health();
      } catch {
        // The measured run below reports the failure.
      } finally {
        await adapter.close().catch(() => undefined);
      }
    }

    for (const { protocol, target } of started) {
      const module = modules.find((m) => m.protocol === protocol)!;
      const row: CompareRow = {
        protocol,
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
        adapter = module.createAdapter(target);
        const session = await adapter.createSession();
        await adapter.useSession?.(session.id);
        row.connectMs = round2(performance.now() - t0);
        progress(`${protocol.padEnd(16)} connected in ${row.connectMs} ms`);
        for (let i = 0; i < turns; i++) {
          const text = SCRIPT[i % SCRIPT.length]!;
          const wireBefore = meter.count(port);
          const payloadBefore = adapter.bytesReceived();
          const turn = await measureTurn(adapter, session.id, text, AbortSignal.timeout(TURN_TIMEOUT_MS));
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
  ].join('\n');
}

function usage(): string {
  return [
    'usage: pnpm compare [--protocols rest,streamable-http,sse,websocket,grpc] [--turns 3] [--json]',
    '',
    'Runs the same scripted conversation through each protocol and prints a side-by-side table.',
    'The simulated model is used offline (SIM_TTFT_MS, SIM_TOKEN_DELAY_MS pace it); GEMINI_API_KEY selects Gemini.',
  ].join('\n');
}

if (isMain(import.meta.url)) {
  runMain(async () => {
    const { values } = parseArgs({
      options: {
        protocols: { type: 'string' },
        turns: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
    if (values.help) {
      console.log(usage());
      return;
    }
    const turns = values.turns === undefined ? SCRIPT.length : Number(values.turns);
    if (!Number.isInteger(turns) || turns < 1 || turns > 20) {
      console.error(`--turns must be a whole number from 1 to 20, got "${values.turns}"\n\n${usage()}`);
      process.exit(2);
    }
    let protocols: Protocol[];
    try {
      protocols = parseProtocols(values.protocols);
    } catch (error) {
      console.error(`${(error as Error).message}\n\n${usage()}`);
      process.exit(2);
    }
    const result = await runCompare({ protocols, turns });
    if (values.json) console.log(JSON.stringify(result, null, 2));
    else console.log(`\n${formatCompare(result)}`);
    const failed = result.rows.some((r) => r.error) || result.agree === false || result.rows.length === 0;
    process.exit(failed ? 1 : 0);
  });
}
