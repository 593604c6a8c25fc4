/** latest.md and the SVG charts, both made from the BenchResult alone. */
import type { BenchResult, BenchRow, Target } from './bench.ts';
import { describeMachine } from './machine.ts';

const pair = (v: { p50: number; p99: number } | null) => (v ? `${v.p50} / ${v.p99}` : 'n/a');
const num = (v: number | null | undefined, unit = '') =>
  v === null || v === undefined ? 'n/a' : `${v.toLocaleString('en-US')}${unit}`;
const metText = (t: Target) => (t.met === null ? 'n/a' : t.met ? '**met**' : '**not met**');

function table(rows: BenchRow[]): string[] {
  const lines = [
    '| protocol | set-up ms p50 / p99 | first token ms p50 / p99 | total ms p50 / p99 | inter-chunk ms at 20 tok/s p50 / p99 | chunks/s | × floor | bytes ↓ / reply | idle conn KiB (heap) | N streams: p99 jitter ms, server CPU |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const c = r.concurrency;
    lines.push(
      `| ${r.protocol} | ${pair(r.connectMs)} | ${pair(r.ttftMs)} | ${pair(r.totalMs)} | ${pair(r.interChunkMs)} | ${num(r.chunksPerSec)} | ${num(r.floorRatio)} | ${num(r.bytesPerReply)} | ${num(r.idleConnectionKiB)} (${num(r.idleConnectionHeapKiB)}) | ${c ? `${c.streams}: ${c.jitterMs ? c.jitterMs.p99 : 'n/a'}, ${c.serverCpuPercent}%${c.failed ? `, ${c.failed} failed` : ''}` : 'n/a'} |`,
    );
  }
  return lines;
}

/** One protocol's lines, for the `<!-- bench:<pkg> -->` section of its README. */
export function protocolSnippet(result: BenchResult, protocol: string): string {
  const r = result.protocols.find((row) => row.protocol === protocol);
  if (!r) return '';
  const floor = result.floors.find((f) => f.floorOf === protocol);
  const c = r.concurrency;
  return [
    `Measured by \`${result.command}\` on ${describeMachine(result.machine)} (${result.generatedAt.slice(0, 10)}); loopback, bench model (${result.model.tokensPerReply}-token replies).`,
    '',
    '| measure | this server | bare-Node floor |',
    '|---|---|---|',
    `| set-up, ms p50 / p99 | ${pair(r.connectMs)} | ${pair(floor?.connectMs ?? null)} |`,
    `| first token on a warm connection (zero-delay model), ms p50 / p99 | ${pair(r.ttftMs)} | ${pair(floor?.ttftMs ?? null)} |`,
    `| inter-chunk at 20 tokens/s, ms p50 / p99 | ${pair(r.interChunkMs)} | ${pair(floor?.interChunkMs ?? null)} |`,
    `| chunks/s on one stream | ${num(r.chunksPerSec)} | ${num(floor?.chunksPerSec)} |`,
    `| bytes received per reply (wire) | ${num(r.bytesPerReply)} | ${num(floor?.bytesPerReply)} |`,
    `| server memory per idle connection, KiB | ${num(r.idleConnectionKiB)} | ${num(floor?.idleConnectionKiB)} |`,
    `| ${c?.streams ?? 'N'} streams at 20 tokens/s: p99 jitter ms, server CPU | ${c ? `${c.jitterMs?.p99 ?? 'n/a'}, ${c.serverCpuPercent}%` : 'n/a'} | ${floor?.concurrency ? `${floor.concurrency.jitterMs?.p99 ?? 'n/a'}, ${floor.concurrency.serverCpuPercent}%` : 'n/a'} |`,
  ].join('\n');
}

export function renderMarkdown(result: BenchResult): string {
  const s = result.sizes;
  return [
    '# Benchmark results',
    '',
    `Reproduce: \`${result.command}\` (${result.quick ? 'quick, CI-sized' : 'full'} run, ${result.durationSeconds} s).`,
    `Machine: ${describeMachine(result.machine)}. Generated ${result.generatedAt}.`,
    '',
    'The servers run in a separate process from the load generator, on loopback. Each protocol is driven',
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
    '## What is measured',
    '',
    `- **set-up**: a new client until it is ready to send (session created; SSE stream open; WebSocket joined), ${s.connectSamples} samples.`,
    `- **first token / total**: ${s.warmTurns} turns on one warm connection with a zero-delay model (${result.model.tokensPerReply} tokens), from send() to the first text / the done event. REST's first text is its whole reply.`,
    `- **inter-chunk**: gaps between chunks on one stream at ${result.model.pacedTokensPerSecond} tokens/s (ideal: 50 ms), ${s.pacedReplies} reply(ies).`,
    `- **chunks/s**: one ${s.throughputTokens.toLocaleString('en-US')}-token reply at zero delay, chunks / total time (median of ${s.throughputReplies}). × floor: the median ratio over ${s.ratioPairs ?? 1} pairs of one reply from the server and one from its floor, alternated, so both meet the machine in the same state.`,
    '- **bytes ↓ / reply**: TCP payload bytes the client received per reply, counted on its sockets (headers, chunked encoding, SSE/WebSocket/HTTP/2 framing included; TCP/IP headers not).',
    `- **idle conn**: server RSS growth (after GC) with ${s.idleConnections} idle connections open, divided by ${s.idleConnections}; the JS heap part in brackets. REST and streamable HTTP: a keep-alive socket; SSE: an open event stream; WebSocket: a joined socket; gRPC: a connected channel.`,
    `- **N streams**: ${s.concurrentStreams} clients, each on its own connection and session, start within 50 ms of each other and stream a ${result.model.tokensPerReply}-token reply at 20 tokens/s; jitter = |gap − 50 ms|; CPU = server process CPU time / wall time (100% = one core).`,
    '',
    ...(result.skipped.length
      ? ['## Skipped', '', ...result.skipped.map((x) => `- ${x.protocol}: ${x.reason}`), '']
      : []),
    ...result.protocols.flatMap((r) =>
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

export function barChart(title: string, unit: string, bars: Bar[], note: string): string {
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
        `<text x="${after(b.floor)}" y="${y + 28}" fill="#666" font-size="10">floor ${fmt(b.floor)}</text>`,
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
  const note = `${result.command} · ${result.machine.cpu}, ${result.machine.cores} cores, Node ${result.machine.node} · grey: bare-Node floor`;
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
    'jitter.svg': barChart(
      `p99 jitter, ${result.sizes.concurrentStreams} streams at 20 tokens/s`,
      'ms',
      rows.map((r) => ({
        label: r.protocol,
        value: r.concurrency?.jitterMs?.p99 ?? null,
        floor: floorOf(r.protocol)?.concurrency?.jitterMs?.p99 ?? null,
      })),
      note,
    ),
  };
}
