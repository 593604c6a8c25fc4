/**
 * `pnpm compare --matrix`: every protocol through every scenario of scenarios.ts, each client
 * behind the network-conditions proxy (@gtp/netem), some also behind a real nginx:
 *
 *   client ──▶ netem proxy (profile) ──▶ [nginx default | tuned] ──▶ the protocol's server
 *
 * The servers run in this process with the simulated model (its output is known in advance,
 * so lost and duplicated tokens can be counted), one fresh server per protocol and scenario.
 */
import {
  type ChatEvent,
  ChatService,
  type Config,
  loadConfig,
  type Protocol,
  SimulatedModel,
  tokenize,
} from '@gtp/core';
import type { ClientAdapter } from '@gtp/core/cli';
import { type NetworkProxy, startProxy } from '@gtp/netem';
import { benchTls } from './dev-tls.ts';
import { describeMachine, type MachineInfo, machineInfo } from './machine.ts';
import { Nginx, nginxAvailable, upstreamName } from './nginx.ts';
import { loadProtocols, type ProtocolModule } from './protocols.ts';
import type { Path, Scenario, ScenarioKind } from './scenarios.ts';
import { round2 } from './turn.ts';
import { portOf } from './wire.ts';

/** What the user says, turn by turn (the same script as `pnpm compare`). */
export const MATRIX_SCRIPT = [
  'Hello! In one sentence, what does a network transport add to a chat with a model?',
  'Which of REST, SSE, WebSocket and gRPC shows the first words soonest, and why?',
  'Remind me what I asked you first, in a few words.',
] as const;

export interface ConditionRow {
  scenario: string;
  kind: ScenarioKind;
  profile: string;
  path: Path;
  protocol: Protocol;
  heartbeatMs: number;
  /** Every turn ended with `done` (stop). */
  completed: boolean;
  /** The first failure, as the client saw it. */
  error: string | null;
  /** New client → first token of the first turn, connection and session set-up included, ms. */
  coldFirstTokenMs: number | null;
  /** send() → first token, mean over the warm turns, ms. */
  warmFirstTokenMs: number | null;
  /** send() → done (or the failure), mean over the turns, ms. */
  totalMs: number | null;
  /** The model's own time to first token (the server's `done` timings), mean, ms. */
  modelTtftMs: number | null;
  /** Round trips the proxy saw before the first token: cold (from the new client) and warm (mean). */
  roundTripsCold: number | null;
  roundTripsWarm: number | null;
  /** The deltas arrived spread over the reply (not held back and delivered at once). */
  streamed: boolean | null;
  tokensExpected: number | null;
  tokensReceived: number | null;
  tokensLost: number | null;
  tokensDuplicated: number | null;
  /** cut: the reply went on after the cut within the same turn. */
  resumed: boolean | null;
  /** cut: from the cut to the next token the user saw (same reply or the next turn), ms. */
  recoveryMs: number | null;
  /** cut / slow-model: a further turn on the same client worked. */
  nextTurnOk: boolean | null;
  /** TCP payload through the proxy, client side, whole scenario. */
  bytesDown: number;
  bytesUp: number;
  connections: number;
  /** First token (from send) ≥ model TTFT + one RTT, on every turn; null where there is no RTT. */
  physics: { minMarginMs: number; ok: boolean } | null;
}

export interface ConditionsResult {
  command: string;
  generatedAt: string;
  durationSeconds: number;
  machine: MachineInfo;
  nginx: string | null;
  scenarios: Array<
    Pick<Scenario, 'id' | 'kind' | 'path' | 'description' | 'heartbeatMs'> & {
      profile: string;
      profileSource: string;
      rttMs: number;
    }
  >;
  rows: ConditionRow[];
  skipped: { protocol: Protocol; reason: string }[];
}

export interface MatrixOptions {
  scenarios: Scenario[];
  protocols: readonly Protocol[];
  command: string;
  /** Called after each protocol × scenario with the number done and the total. */
  onStep?: (done: number, total: number, label: string) => void;
  onLog?: (line: string) => void;
}

interface TurnRecord {
  sentAt: number;
  deltas: { at: number; text: string }[];
  firstDeltaAt: number | null;
  doneAt: number | null;
  endedAt: number;
  finish: string | null;
  error: string | null;
  modelTtftMs: number | null;
  roundTripsAtFirst: number | null;
}

/** One turn, never throwing: what arrived, when, and how it ended. */
async function recordTurn(
  adapter: ClientAdapter,
  sessionId: string,
  text: string,
  timeoutMs: number,
  proxy: NetworkProxy,
  onDelta?: (at: number) => void,
): Promise<TurnRecord> {
  const record: TurnRecord = {
    sentAt: performance.now(),
    deltas: [],
    firstDeltaAt: null,
    doneAt: null,
    endedAt: 0,
    finish: null,
    error: null,
    modelTtftMs: null,
    roundTripsAtFirst: null,
  };
  try {
    for await (const event of adapter.send(sessionId, text, { signal: AbortSignal.timeout(timeoutMs) })) {
      const at = performance.now();
      const e = event as ChatEvent;
      if (e.type === 'delta') {
        if (record.firstDeltaAt === null && e.text.length > 0) {
          record.firstDeltaAt = at;
          record.roundTripsAtFirst = proxy.stats().roundTrips;
        }
        record.deltas.push({ at, text: e.text });
        onDelta?.(at);
      } else if (e.type === 'error') {
        record.error = `${e.error.code}: ${e.error.message}`;
        break;
      } else if (e.type === 'done') {
        record.doneAt = at;
        record.finish = e.finishReason;
        record.modelTtftMs = e.timings.ttftMs;
        break;
      }
    }
    if (record.doneAt === null && record.error === null)
      record.error = 'the stream ended without a done event';
  } catch (error) {
    record.error = error instanceof Error ? error.message : String(error);
  }
  record.endedAt = performance.now();
  return record;
}

const mean = (xs: number[]) => (xs.length ? round2(xs.reduce((a, b) => a + b, 0) / xs.length) : null);
const short = (message: string) => message.replace(/\s+/g, ' ').slice(0, 160);

/** The reply the simulated model gives to the first turn of a session: the reference. */
function referenceTokens(text: string): string[] {
  const model = new SimulatedModel({ ttftMs: 0, tokenDelayMs: 0 });
  return tokenize(model.compose([{ role: 'user', text }]));
}

function emptyRow(scenario: Scenario, protocol: Protocol): ConditionRow {
  return {
    scenario: scenario.id,
    kind: scenario.kind,
    profile: scenario.profile.name,
    path: scenario.path,
    protocol,
    heartbeatMs: scenario.heartbeatMs,
    completed: false,
    error: null,
    coldFirstTokenMs: null,
    warmFirstTokenMs: null,
    totalMs: null,
    modelTtftMs: null,
    roundTripsCold: null,
    roundTripsWarm: null,
    streamed: null,
    tokensExpected: null,
    tokensReceived: null,
    tokensLost: null,
    tokensDuplicated: null,
    resumed: null,
    recoveryMs: null,
    nextTurnOk: null,
    bytesDown: 0,
    bytesUp: 0,
    connections: 0,
    physics: null,
  };
}

/** Count what reached the user against what the model said. */
function countTokens(row: ConditionRow, protocol: Protocol, turn: TurnRecord, reference: string[]): void {
  row.tokensExpected = reference.length;
  if (protocol === 'rest') {
    // One delta carries the whole reply, or nothing arrives.
    const text = turn.deltas.map((d) => d.text).join('');
    row.tokensReceived = tokenize(text).length;
    row.tokensLost = text === reference.join('') ? 0 : reference.length - row.tokensReceived;
    row.tokensDuplicated = Math.max(0, row.tokensReceived - reference.length);
    return;
  }
  // One delta per token, in order: each is the next token, a token again (a duplicate), or one
  // further on (those between were lost). A delta carries no index (its seq orders it on the wire).
  const seen = new Set<number>();
  let duplicated = 0;
  let next = 0;
  for (const d of turn.deltas) {
    if (reference[next] === d.text) {
      seen.add(next++);
      continue;
    }
    const ahead = reference.indexOf(d.text, next);
    if (ahead >= 0 && !reference.slice(Math.max(0, next - 8), next).includes(d.text)) {
      seen.add(ahead);
      next = ahead + 1;
    } else duplicated += 1;
  }
  row.tokensReceived = turn.deltas.length;
  row.tokensLost = reference.filter((_, i) => !seen.has(i)).length;
  row.tokensDuplicated = duplicated;
}

const retarget = (target: string, port: number) => target.replace(/:\d+(\/?)$/, `:${port}$1`);

async function runProtocol(
  scenario: Scenario,
  module: ProtocolModule,
  target: string,
  proxy: NetworkProxy,
): Promise<ConditionRow> {
  const row = emptyRow(scenario, module.protocol);
  const clientTarget = retarget(target, proxy.port);
  const turnTimeoutMs = scenario.simTtftMs * 2 + 30_000;
  const t0 = performance.now();
  const statsAtStart = proxy.stats();
  const adapter = module.createAdapter(clientTarget, scenario.tls ? { ca: benchTls().ca } : {});
  const turns: TurnRecord[] = [];
  let cutAt: number | null = null;
  try {
    const session = await adapter.createSession();
    await adapter.useSession?.(session.id);
    for (let i = 0; i < scenario.turns; i++) {
      const before = proxy.stats().roundTrips;
      let timer: NodeJS.Timeout | undefined;
      if (scenario.kind === 'cut' && scenario.cutAtMs !== undefined) {
        timer = setTimeout(() => {
          cutAt = performance.now();
          proxy.cutAll();
        }, scenario.cutAtMs);
      }
      const text = MATRIX_SCRIPT[i % MATRIX_SCRIPT.length]!;
      const turn = await recordTurn(adapter, session.id, text, turnTimeoutMs, proxy);
      clearTimeout(timer);
      if (turn.roundTripsAtFirst !== null) {
        turn.roundTripsAtFirst -= i === 0 ? statsAtStart.roundTrips : before;
      }
      turns.push(turn);
      if (turn.error && scenario.kind !== 'cut') break;
    }
    const first = turns[0]!;
    row.coldFirstTokenMs = first.firstDeltaAt === null ? null : round2(first.firstDeltaAt - t0);
    row.roundTripsCold = first.roundTripsAtFirst;
    const warm = turns.slice(1);
    row.warmFirstTokenMs = mean(
      warm.flatMap((t) => (t.firstDeltaAt === null ? [] : [t.firstDeltaAt - t.sentAt])),
    );
    row.roundTripsWarm = mean(
      warm.flatMap((t) => (t.roundTripsAtFirst === null ? [] : [t.roundTripsAtFirst])),
    );
    row.totalMs = mean(turns.map((t) => (t.doneAt ?? t.endedAt) - t.sentAt));
    row.modelTtftMs = mean(turns.flatMap((t) => (t.modelTtftMs === null ? [] : [t.modelTtftMs])));
    row.completed = turns.length === scenario.turns && turns.every((t) => t.finish === 'stop');
    row.error = turns.find((t) => t.error)?.error ?? null;
    if (module.protocol !== 'rest') {
      const spreads = turns.filter((t) => t.deltas.length > 1);
      // Streamed: the deltas of a reply arrived over at least half the time the model took to write them.
      row.streamed =
        spreads.length === 0
          ? null
          : spreads.every(
              (t) =>
                t.deltas.at(-1)!.at - t.deltas[0]!.at >=
                0.5 * (t.deltas.length - 1) * scenario.simTokenDelayMs,
            );
    }
    if (scenario.profile.rttMs > 0) {
      const margins = turns.flatMap((t) =>
        t.firstDeltaAt === null || t.modelTtftMs === null
          ? []
          : [
              t.firstDeltaAt -
                t.sentAt -
                (t.modelTtftMs + scenario.profile.rttMs - scenario.profile.rttJitterMs),
            ],
      );
      if (margins.length) {
        const minMarginMs = round2(Math.min(...margins));
        row.physics = { minMarginMs, ok: minMarginMs >= -2 };
      }
    }
    if (scenario.kind === 'cut') {
      const cutTurn = turns[0]!;
      countTokens(row, module.protocol, cutTurn, referenceTokens(MATRIX_SCRIPT[0]));
      const cutMoment = cutAt as number | null;
      const after = cutMoment === null ? [] : cutTurn.deltas.filter((d) => d.at > cutMoment);
      row.resumed = cutMoment !== null && after.length > 0;
      row.error = cutTurn.error;
      row.completed = cutTurn.finish === 'stop';
    }
    if (scenario.kind !== 'turns') {
      // Does the client still work? One more turn, on a link without the condition's trigger.
      const next = await recordTurn(adapter, session.id, 'Still there?', 30_000 + scenario.simTtftMs, proxy);
      row.nextTurnOk = next.finish === 'stop';
      if (scenario.kind === 'cut' && cutAt !== null) {
        const cut = cutAt as number;
        const firstAfter =
          turns[0]!.deltas.find((d) => d.at > cut)?.at ??
          (next.firstDeltaAt !== null ? next.firstDeltaAt : null);
        row.recoveryMs = firstAfter === null ? null : round2(firstAfter - cut);
      }
    }
  } catch (error) {
    row.error = short(error instanceof Error ? error.message : String(error));
  } finally {
    await adapter.close().catch(() => undefined);
  }
  if (row.error) row.error = short(row.error);
  const stats = proxy.stats();
  row.bytesDown = stats.bytesDown - statsAtStart.bytesDown;
  row.bytesUp = stats.bytesUp - statsAtStart.bytesUp;
  row.connections = stats.connections - statsAtStart.connections;
  return row;
}

/** One scenario for every protocol: servers, nginx if the path has one, a proxy per protocol. */
async function runScenario(
  scenario: Scenario,
  modules: ProtocolModule[],
  onRow: (row: ConditionRow) => void,
  log: (line: string) => void,
): Promise<void> {
  const base = loadConfig({});
  const config: Config = {
    ...base,
    logLevel: 'silent',
    provider: 'simulated',
    simTtftMs: scenario.simTtftMs,
    simTokenDelayMs: scenario.simTokenDelayMs,
    heartbeatMs: scenario.heartbeatMs,
    rateLimitMax: 0,
    // The loopback names, and the upstream names nginx sends as Host (see upstreamName()).
    allowedHosts: ['localhost', '127.0.0.1', '[::1]', ...modules.map((m) => upstreamName(m.protocol))],
    ...(scenario.tls ? { tls: benchTls().server } : {}),
  };
  const closers: (() => Promise<void>)[] = [];
  try {
    const servers: { module: ProtocolModule; target: string }[] = [];
    for (const module of modules) {
      const server = await module.createServer({
        config,
        chat: ChatService.fromConfig(config, module.protocol),
      });
      const target = await server.listen({ port: 0, host: '127.0.0.1' });
      closers.push(() => server.close());
      servers.push({ module, target });
    }
    let nginx: Nginx | undefined;
    if (scenario.path !== 'direct') {
      nginx = await Nginx.start({
        mode: scenario.path === 'nginx-default' ? 'default' : 'tuned',
        upstreams: servers.map((s) => ({ protocol: s.module.protocol, port: portOf(s.target) })),
        readTimeoutSeconds: scenario.nginxReadTimeoutSeconds,
      });
      closers.unshift(() => nginx!.stop());
    }
    const runs = servers.map(async ({ module, target }) => {
      const front = nginx?.targets.get(module.protocol) ?? target;
      const proxy = await startProxy({ target: { port: portOf(front) }, profile: scenario.profile });
      closers.unshift(() => proxy.close());
      return { module, front, proxy };
    });
    const ready = await Promise.all(runs);
    const one = async ({ module, front, proxy }: (typeof ready)[number]) => {
      const row = await runProtocol(scenario, module, front, proxy);
      onRow(row);
    };
    if (scenario.parallel) await Promise.all(ready.map(one));
    else for (const r of ready) await one(r);
    if (nginx) {
      const errors = (await nginx.errorLog()).split('\n').filter((l) => /\[(error|crit|alert)\]/.test(l));
      if (errors.length)
        log(`${scenario.id}: nginx logged ${errors.length} error(s), e.g. ${errors[0]!.slice(0, 200)}`);
    }
  } finally {
    for (const close of closers) await close().catch(() => undefined);
  }
}

export async function runMatrix(options: MatrixOptions): Promise<ConditionsResult> {
  const started = performance.now();
  const log = options.onLog ?? ((line: string) => process.stderr.write(`${line}\n`));
  const { modules, skipped } = await loadProtocols(options.protocols);
  for (const s of skipped) log(`skipping ${s.protocol}: ${s.reason}`);
  let scenarios = options.scenarios;
  if (!nginxAvailable()) {
    log('nginx is not installed (/usr/sbin/nginx): the nginx scenarios are left out');
    scenarios = scenarios.filter((s) => s.path === 'direct');
  }
  const total = scenarios.length * modules.length;
  const rows: ConditionRow[] = [];
  let done = 0;
  options.onStep?.(0, total, 'starting');
  for (const scenario of scenarios) {
    try {
      await runScenario(
        scenario,
        modules,
        (row) => {
          rows.push(row);
          done += 1;
          options.onStep?.(done, total, `${scenario.id} ${row.protocol}`);
        },
        log,
      );
    } catch (error) {
      log(`${scenario.id} failed to set up: ${(error as Error).message}`);
      for (const m of modules) {
        if (rows.some((r) => r.scenario === scenario.id && r.protocol === m.protocol)) continue;
        rows.push({
          ...emptyRow(scenario, m.protocol),
          error: `set-up failed: ${short((error as Error).message)}`,
        });
        done += 1;
        options.onStep?.(done, total, `${scenario.id} ${m.protocol}`);
      }
    }
  }
  const order = modules.map((m) => m.protocol);
  rows.sort(
    (a, b) =>
      scenarios.findIndex((s) => s.id === a.scenario) - scenarios.findIndex((s) => s.id === b.scenario) ||
      order.indexOf(a.protocol) - order.indexOf(b.protocol),
  );
  return {
    command: options.command,
    generatedAt: new Date().toISOString(),
    durationSeconds: Math.round((performance.now() - started) / 1000),
    machine: machineInfo(),
    nginx: nginxAvailable() ? 'nginx (Debian, /usr/sbin/nginx)' : null,
    scenarios: scenarios.map((s) => ({
      id: s.id,
      kind: s.kind,
      path: s.path,
      description: s.description,
      heartbeatMs: s.heartbeatMs,
      profile: s.profile.name,
      profileSource: s.profile.source,
      rttMs: s.profile.rttMs,
    })),
    rows,
    skipped,
  };
}

export { describeMachine };
