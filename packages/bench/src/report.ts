/** latest.md and the SVG charts, both made from the BenchResult alone. */
import type { BenchResult, BenchRow, Target } from './bench.ts';
import { describeMachine } from './machine.ts';
import type { StartupResult } from './startup.ts';

const pair = (v: { p50: number; p99: number } | null) => (v ? `${v.p50} / ${v.p99}` : 'n/a');
const num = (v: number | null | undefined, unit = '') =>
  v === null || v === undefined ? 'n/a' : `${v.toLocaleString('en-US')}${unit}`;
const metText = (t: Target) => (t.met === null ? 'n/a' : t.met ? '**met**' : '**not met**');

/** "1,200" or "≥ 3,200" (the search's ceiling passed). */
export const capacityText = (r: BenchRow | undefined) =>
  r?.capacity ? `${r.capacity.atCeiling ? '≥ ' : ''}${r.capacity.streams.toLocaleString('en-US')}` : 'n/a';
const ratio = (v: number | null | undefined) => (v === null || v === undefined ? '' : ` (${v}×)`);

function table(rows: BenchRow[]): string[] {
  const lines = [
    '| protocol | set-up ms p50 / p99 | first token ms p50 / p99 | inter-chunk ms at 20 tok/s p50 / p99 | chunks/s (× floor) | bytes ↓ / reply | bytes / token | idle conn KiB (heap) | active stream +KiB (heap) | capacity, streams per core (× floor) | server CPU µs / token (× floor) | streams per core at 100 % CPU |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.protocol} | ${pair(r.connectMs)} | ${pair(r.ttftMs)} | ${pair(r.interChunkMs)} | ${num(r.chunksPerSec)}${ratio(r.floorRatio)} | ${num(r.bytesPerReply)} | ${num(r.bytesPerToken)} | ${num(r.idleConnectionKiB)} (${num(r.idleConnectionHeapKiB)}) | ${num(r.activeStreamKiB)} (${num(r.activeStreamHeapKiB)}) | ${capacityText(r)}${r.capacity ? `, ${r.capacity.limitedBy}` : ''}${ratio(r.capacityRatio)} | ${num(r.cpuPerToken?.microsPerToken)}${ratio(r.cpuRatio)} | ${num(r.capacityFromCpu)} |`,
    );
  }
  return lines;
}

function capacitySteps(rows: BenchRow[]): string[] {
  const lines = [
    '| subject | steps: N → pass/FAIL (p99 jitter ms; server CPU %, load generator CPU %) |',
    '|---|---|',
  ];
  for (const r of rows) {
    if (!r.capacity) continue;
    const steps = r.capacity.steps
      .map(
        (s) =>
          `${s.streams} ${s.ok ? 'pass' : 'FAIL'} (${s.jitterP99Ms ?? 'n/a'}${s.failed ? `, ${s.failed} failed` : ''}; ${s.serverCpuPercent} %, ${s.loadCpuPercent} %)`,
      )
      .join(' · ');
    lines.push(`| ${r.protocol} | ${steps} |`);
  }
  return lines;
}

function startupTable(result: BenchResult): string[] {
  const s = result.startup;
  if (!s)
    return ['Not measured on this run (quick runs skip it; `pnpm bench --only startup` measures it alone).'];
  return startupLines(s);
}

/** The start-up table alone (`pnpm bench --only startup`). */
export function renderStartup(s: StartupResult): string {
  return startupLines(s).join('\n');
}

function startupLines(s: StartupResult): string[] {
  const lines = [
    ...(s.note ? [s.note, ''] : []),
    '| protocol | `pnpm serve` → listening, ms | idle server RSS, MiB | all processes of `pnpm serve`, MiB | `pnpm client` → first prompt, ms | plain-JS build: → listening ms, idle RSS MiB |',
    '|---|---|---|---|---|---|',
  ];
  for (const r of s.rows) {
    lines.push(
      `| ${r.protocol} | ${num(r.serverStartMs)} | ${num(r.serverRssMiB)} | ${num(r.treeRssMiB)} (${num(r.processes)} processes) | ${num(r.clientPromptMs)} | ${r.plain ? `${r.plain.startMs}, ${r.plain.rssMiB}` : 'n/a'} |${r.errors.length ? ` ${r.errors.join('; ')}` : ''}`,
    );
  }
  if (s.baseline)
    lines.push(
      '',
      `Baseline: an idle \`node\` with nothing loaded: ${s.baseline.nodeRssMiB} MiB RSS; with the tsx loader (\`node --import tsx\`) and nothing else: ${s.baseline.nodeTsxRssMiB} MiB.`,
    );
  return lines;
}

/** One protocol's lines, for the `<!-- bench:<pkg> -->` section of its README. */
export function protocolSnippet(result: BenchResult, protocol: string): string {
  const r = result.protocols.find((row) => row.protocol === protocol);
  if (!r) return '';
  const floor = result.floors.find((f) => f.floorOf === protocol);
  const start = result.startup?.rows.find((x) => x.protocol === protocol);
  return [
    `Measured by \`${result.command}\` on ${describeMachine(result.machine)} (${result.generatedAt.slice(0, 10)}); loopback, bench model (${result.model.tokensPerReply}-token replies); ${result.pinning.note}.`,
    '',
    '| measure | this server | bare-Node floor |',
    '|---|---|---|',
    `| set-up, ms p50 / p99 | ${pair(r.connectMs)} | ${pair(floor?.connectMs ?? null)} |`,
    `| first token on a warm connection (zero-delay model), ms p50 / p99 | ${pair(r.ttftMs)} | ${pair(floor?.ttftMs ?? null)} |`,
    `| inter-chunk at 20 tokens/s, ms p50 / p99 | ${pair(r.interChunkMs)} | ${pair(floor?.interChunkMs ?? null)} |`,
    `| chunks/s on one stream | ${num(r.chunksPerSec)} | ${num(floor?.chunksPerSec)} |`,
    `| bytes received per reply / per token (wire) | ${num(r.bytesPerReply)} / ${num(r.bytesPerToken)} | ${num(floor?.bytesPerReply)} / ${num(floor?.bytesPerToken)} |`,
    `| server memory per idle connection, KiB | ${num(r.idleConnectionKiB)} | ${num(floor?.idleConnectionKiB)} |`,
    `| capacity: streams at 20 tokens/s on one server core (p99 jitter < 20 ms) | ${capacityText(r)} | ${capacityText(floor)} |`,
    `| server CPU per token at ${r.cpuPerToken?.streams ?? 'N'} streams, µs | ${num(r.cpuPerToken?.microsPerToken)} | ${num(floor?.cpuPerToken?.microsPerToken)} |`,
    `| streams at 20 tokens/s one core carries at 100 % CPU (from CPU per token) | ${num(r.capacityFromCpu)} | ${num(floor?.capacityFromCpu)} |`,
    ...(start
      ? [
          `| \`pnpm serve ${protocol}\` → listening, ms; idle RSS, MiB | ${num(start.serverStartMs)}; ${num(start.serverRssMiB)} | n/a |`,
        ]
      : []),
  ].join('\n');
}

export function renderMarkdown(result: BenchResult): string {
  const s = result.sizes;
  const sm = result.sessionMemory;
  return [
    '# Benchmark results',
    '',
    `Reproduce: \`${result.command}\` (${result.quick ? 'quick, CI-sized' : 'full'} run, ${result.durationSeconds} s).`,
    `Machine: ${describeMachine(result.machine)}. Generated ${result.generatedAt}.`,
    `Load average (1/5/15 min) of the shared machine: ${result.loadAverage?.start.join(' / ') ?? 'n/a'} at the start, ${result.loadAverage?.end.join(' / ') ?? 'n/a'} at the end.`,
    `Pinning: ${result.pinning.note}.${result.pinning.comparable ? '' : ' **Capacity and CPU figures of this run are not comparable.**'}`,
    '',
    'The servers run in a separate process from the load generator, on loopback, pinned to another core. Each protocol is driven',
    'through its own client adapter (packages/<protocol>/client.ts); each `floor:` row is the least code that',
    'serves the same tokens over the same wire (node:http JSON/NDJSON/SSE, bare ws, minimal grpc-js).',
    '',
    ...table(result.protocols),
    '',
    '### Floors',
    '',
    ...table(result.floors),
    '',
    '## Targets',
    '',
    '| target | protocol | value | limit | result |',
    '|---|---|---|---|---|',
    ...result.targets.map(
      (t) =>
        `| ${t.name} | ${t.protocol} | ${num(t.value)} | ${t.limit} | ${metText(t)}${t.note ? ` (${t.note})` : ''} |`,
    ),
    '',
    '## Start-up and footprint (the root commands, as a user runs them)',
    '',
    ...startupTable(result),
    '',
    '## Stored sessions',
    '',
    sm
      ? `${sm.sessions.toLocaleString('en-US')} sessions of ${sm.turns} turns (${result.model.tokensPerReply}-token replies) in one ChatService with the in-memory store, as every server keeps them: ${sm.perSessionKiB} KiB RSS per session (${sm.perSessionHeapKiB} KiB of JS heap), after GC.`
      : 'Not measured.',
    '',
    '## Capacity search steps',
    '',
    ...capacitySteps([...result.protocols, ...result.floors]),
    '',
    '## What is measured',
    '',
    `- **set-up**: a new client until it is ready to send (session created; SSE stream open; WebSocket joined), ${s.connectSamples} samples.`,
    `- **first token**: ${s.warmTurns} turns on one warm connection with a zero-delay model (${result.model.tokensPerReply} tokens), from send() to the first text. REST's first text is its whole reply.`,
    `- **inter-chunk**: gaps between chunks on one stream at ${result.model.pacedTokensPerSecond} tokens/s (ideal: 50 ms), ${s.pacedReplies} reply(ies) of ${s.pacedTokens ?? 40} tokens.`,
    `- **chunks/s**: one ${s.throughputTokens.toLocaleString('en-US')}-token reply at zero delay, chunks / total time (median of ${s.throughputReplies}). × floor: the median ratio over ${s.ratioPairs} pairs of one reply from the server and one from its floor, alternated, so both meet the machine in the same state.`,
    '- **bytes ↓ / reply**: TCP payload bytes the client received per reply, counted on its sockets (headers, chunked encoding, SSE/WebSocket/HTTP/2 framing included; TCP/IP headers not).',
    `- **bytes / token**: (bytes of the ${s.throughputTokens.toLocaleString('en-US')}-token reply − bytes of the ${result.model.tokensPerReply}-token one) / the difference in tokens: what each further token costs on the wire.`,
    `- **idle conn**: server RSS growth (after GC) with ${s.idleConnections} idle connections open, divided by ${s.idleConnections}, in a fresh server process; the JS heap part in brackets. **active stream**: ${s.activeStreams} clients on the same kind of fresh server, RSS after GC midway through a paced reply (${s.activeTokens ?? 40} tokens) minus the same clients connected and idle, per stream.`,
    `- **capacity**: the largest N concurrent streams (each its own connection and session, starts spread over 50 ms, ${s.capacityTokens} tokens at 20 tokens/s) for which every stream completes with no error and the p99 of |gap − 50 ms| over all chunks is < 20 ms (REST: |reply time − ideal|). N steps ${s.capacityStart}, ${s.capacityStart * 2}, ${s.capacityStart * 4}, … up to ${s.capacityMax.toLocaleString('en-US')}, then bisects until the gap is within ${s.capacityPrecision * 100} %. The server's search and its floor's run in lock-step, one trial each in turn. "limited by": the process whose core was ≥ 90 % busy in the first failed step; \`neither\` when both had CPU to spare, i.e. the jitter came from elsewhere (other work on a shared machine).`,
    `- **CPU per token**: server process CPU time (process.cpuUsage() read in the server process) per token the clients received, ${s.cpuStreams} streams × ${s.cpuTokens} tokens at 20 tokens/s; median of ${s.cpuPairs} alternating server/floor pairs, and the median of the pair ratios. **streams per core at 100 % CPU** = 10⁶ µs / (µs per token × 20): CPU time does not grow when other work delays a process, so this holds on a busy shared machine where the jitter search cannot; the capacity target is judged on it when the search failed with CPU to spare on both cores.`,
    '',
    ...(result.skipped.length
      ? ['## Skipped', '', ...result.skipped.map((x) => `- ${x.protocol}: ${x.reason}`), '']
      : []),
    ...[...result.protocols, ...result.floors].flatMap((r) =>
      r.errors.length ? [`- ${r.protocol} errors: ${r.errors.join('; ')}`] : [],
    ),
    '',
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------
// SVG bar charts: hand-written, no browser needed.

const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

interface Bar {
  label: string;
  value: number | null;
  floor?: number | null;
}

export function barChart(
  title: string,
  unit: string,
  bars: Bar[],
  note: string,
  greyLabel = 'floor',
): string {
  const width = 640;
  const rowHeight = 34;
  const left = 140;
  const right = 110;
  const top = 44;
  const height = top + bars.length * rowHeight + 40;
  const max = Math.max(1e-9, ...bars.flatMap((b) => [b.value ?? 0, b.floor ?? 0]));
  const scale = (v: number) => Math.max(0, ((width - left - right) * v) / max).toFixed(1);
  const after = (v: number) => (left + Number(scale(v)) + 4).toFixed(1);
  const fmt = (v: number) =>
    v >= 100 ? Math.round(v).toLocaleString('en-US') : String(Math.round(v * 100) / 100);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="12" y="22" font-size="15" font-weight="600">${escapeXml(title)}</text>`,
  ];
  bars.forEach((b, i) => {
    const y = top + i * rowHeight;
    parts.push(`<text x="${left - 8}" y="${y + 14}" text-anchor="end">${escapeXml(b.label)}</text>`);
    if (b.value === null) {
      parts.push(`<text x="${left + 4}" y="${y + 14}" fill="#888">n/a</text>`);
    } else {
      parts.push(`<rect x="${left}" y="${y + 2}" width="${scale(b.value)}" height="16" fill="#3b6fd6"/>`);
      parts.push(`<text x="${after(b.value)}" y="${y + 14}">${fmt(b.value)} ${escapeXml(unit)}</text>`);
    }
    if (b.floor !== undefined && b.floor !== null) {
      parts.push(`<rect x="${left}" y="${y + 20}" width="${scale(b.floor)}" height="8" fill="#b9b9b9"/>`);
      parts.push(
        `<text x="${after(b.floor)}" y="${y + 28}" fill="#666" font-size="10">${escapeXml(greyLabel)} ${fmt(b.floor)}</text>`,
      );
    }
  });
  parts.push(
    `<text x="12" y="${height - 12}" fill="#666" font-size="11">${escapeXml(note)}</text>`,
    '</svg>',
    '',
  );
  return parts.join('\n');
}

/** File name → SVG. */
export function renderCharts(result: BenchResult): Record<string, string> {
  const floorOf = (p: string) => result.floors.find((f) => f.floorOf === p);
  const note = `${result.command} · ${result.machine.cpu}, ${result.machine.cores} cores, Node ${result.machine.node}${result.pinning?.comparable ? ', server and load pinned apart' : ', NOT pinned'} · grey: bare-Node floor`;
  const rows = result.protocols;
  return {
    'ttft.svg': barChart(
      'First token on a warm connection, p50 (zero-delay model)',
      'ms',
      rows.map((r) => ({
        label: r.protocol,
        value: r.ttftMs?.p50 ?? null,
        floor: floorOf(r.protocol)?.ttftMs?.p50 ?? null,
      })),
      note,
    ),
    'chunks-per-sec.svg': barChart(
      'Chunks per second on one stream',
      '/s',
      rows.map((r) => ({
        label: r.protocol,
        value: r.chunksPerSec,
        floor: floorOf(r.protocol)?.chunksPerSec ?? null,
      })),
      note,
    ),
    'bytes-per-reply.svg': barChart(
      `Bytes received per ${result.model.tokensPerReply}-token reply (TCP payload)`,
      'B',
      rows.map((r) => ({
        label: r.protocol,
        value: r.bytesPerReply,
        floor: floorOf(r.protocol)?.bytesPerReply ?? null,
      })),
      note,
    ),
    'idle-connection.svg': barChart(
      'Server memory per idle connection (RSS)',
      'KiB',
      rows.map((r) => ({
        label: r.protocol,
        value: r.idleConnectionKiB,
        floor: floorOf(r.protocol)?.idleConnectionKiB ?? null,
      })),
      note,
    ),
    'bytes-per-token.svg': barChart(
      'Bytes on the wire per further token',
      'B',
      rows.map((r) => ({
        label: r.protocol,
        value: r.bytesPerToken,
        floor: floorOf(r.protocol)?.bytesPerToken ?? null,
      })),
      note,
    ),
    'capacity.svg': barChart(
      'Streams at 20 tokens/s one server core carries at 100 % CPU (from CPU per token)',
      'streams',
      rows.map((r) => ({
        label: r.protocol,
        value: r.capacityFromCpu ?? null,
        floor: floorOf(r.protocol)?.capacityFromCpu ?? null,
      })),
      note,
    ),
    'capacity-jitter.svg': barChart(
      'Streams at 20 tokens/s with p99 jitter < 20 ms (the search)',
      'streams',
      rows.map((r) => ({
        label: r.protocol,
        value: r.capacity?.streams ?? null,
        floor: floorOf(r.protocol)?.capacity?.streams ?? null,
      })),
      note,
    ),
    'cpu-per-token.svg': barChart(
      `Server CPU per token, ${result.sizes.cpuStreams} streams at 20 tokens/s`,
      'µs',
      rows.map((r) => ({
        label: r.protocol,
        value: r.cpuPerToken?.microsPerToken ?? null,
        floor: floorOf(r.protocol)?.cpuPerToken?.microsPerToken ?? null,
      })),
      note,
    ),
    ...(result.startup
      ? {
          'startup.svg': barChart(
            '`pnpm serve` idle RSS (grey: the same server bundled with its dependencies)',
            'MiB',
            result.startup.rows.map((r) => ({
              label: r.protocol,
              value: r.serverRssMiB,
              floor: r.plain?.rssMiB ?? null,
            })),
            note.replace(
              'grey: bare-Node floor',
              `target ≤ 60 MiB; bare node ${result.startup?.baseline?.nodeRssMiB ?? 'n/a'} MiB`,
            ),
            'bundled',
          ),
        }
      : {}),
  };
}
