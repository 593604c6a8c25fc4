/**
 * Puts the benchmark's numbers into the READMEs, so that no README number is typed by hand:
 * the text between `<!-- bench:<name> -->` and `<!-- /bench:<name> -->` is replaced (the end
 * marker is added the first time). Only a full run's numbers go into the READMEs.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BenchResult, Target } from './bench.ts';
import { describeMachine } from './machine.ts';
import { capacityText, protocolSnippet } from './report.ts';

const PROTOCOL_PACKAGES = ['rest', 'streamable-http', 'sse', 'websocket', 'grpc'] as const;
const DIAGRAM_TITLES: Record<(typeof PROTOCOL_PACKAGES)[number], string> = {
  rest: 'REST',
  'streamable-http': 'Streamable HTTP',
  sse: 'SSE',
  websocket: 'WebSocket',
  grpc: 'gRPC',
};

/** Replace a marked section; false when the start marker is not in the text. */
export function replaceSection(text: string, name: string, body: string): string | undefined {
  const start = `<!-- ${name} -->`;
  const end = `<!-- /${name} -->`;
  const from = text.indexOf(start);
  if (from === -1) return undefined;
  const afterStart = from + start.length;
  const to = text.indexOf(end, afterStart);
  const tail = to === -1 ? text.slice(afterStart) : text.slice(to + end.length);
  return `${text.slice(0, afterStart)}\n${body.trim()}\n${end}${tail}`;
}

const pair = (v: { p50: number; p99: number } | null) => (v ? `${v.p50} / ${v.p99}` : 'n/a');
const num = (v: number | null | undefined) =>
  v === null || v === undefined ? 'n/a' : v.toLocaleString('en-US');

/** The root README's performance section. */
export function rootSnippet(result: BenchResult): string {
  const lines = [
    `Measured by \`${result.command}\` (${result.durationSeconds} s) on ${describeMachine(result.machine)},`,
    `${result.generatedAt.slice(0, 10)}, a machine shared with other work. Loopback; ${result.pinning.note}.`,
    `${result.model.tokensPerReply}-token replies from the bench model. Method, floors and every target:`,
    '[packages/bench/results/latest.md](packages/bench/results/latest.md). Reproduce with `pnpm bench`.',
    '',
    '| protocol | first token ms p50 / p99 | chunks/s (× floor) | bytes / token | idle connection KiB | capacity, streams per core: jitter search (× floor) / at 100 % CPU | CPU µs / token (× floor) | `pnpm serve` → listening ms, idle RSS MiB | `pnpm client` → prompt ms |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  const x = (v: number | null | undefined) => (v === null || v === undefined ? '' : ` (${v}×)`);
  for (const r of result.protocols) {
    const s = result.startup?.rows.find((row) => row.protocol === r.protocol);
    lines.push(
      `| ${r.protocol} | ${pair(r.ttftMs)} | ${num(r.chunksPerSec)}${x(r.floorRatio)} | ${num(r.bytesPerToken)} | ${num(r.idleConnectionKiB)} | ${capacityText(r)}${x(r.capacityRatio)} / ${num(r.capacityFromCpu)} | ${num(r.cpuPerToken?.microsPerToken)}${x(r.cpuRatio)} | ${s ? `${num(s.serverStartMs)}, ${num(s.serverRssMiB)}` : 'n/a'} | ${num(s?.clientPromptMs)} |`,
    );
  }
  const missed = result.targets.filter((t) => t.met === false);
  lines.push(
    '',
    `Targets: ${result.targets.filter((t) => t.met === true).length} met, ${missed.length} not met${
      missed.length ? ` (${missed.map((t) => `${t.protocol}: ${t.name} = ${t.value}`).join('; ')})` : ''
    }. What falls short, and whose it is, is written down in [the bench README](packages/bench/README.md).`,
    '',
    '![Capacity per core](packages/bench/results/capacity.svg)',
    '![CPU per token](packages/bench/results/cpu-per-token.svg)',
    '![First token](packages/bench/results/ttft.svg)',
    '![Chunks per second](packages/bench/results/chunks-per-sec.svg)',
    '![Bytes per token](packages/bench/results/bytes-per-token.svg)',
    '![Idle connection memory](packages/bench/results/idle-connection.svg)',
  );
  return lines.join('\n');
}

/** A target's cell: its value and whether it was met. */
const targetCell = (t: Target | undefined) =>
  !t ? '—' : `${num(t.value)} ${t.met === null ? '(n/a)' : t.met ? '✅ met' : '❌ not met'}`;

/**
 * The bench README's generated part: every target per protocol, start-up and footprint, and how
 * the capacity searches ended, from the same result as latest.md.
 */
export function benchSnippet(result: BenchResult): string {
  const protocols = result.protocols.map((r) => r.protocol);
  const names = [...new Set(result.targets.map((t) => t.name))];
  const lines = [
    `Generated from [\`results/latest.json\`](results/latest.json) by \`${result.command}\` (${result.durationSeconds} s) on`,
    `${describeMachine(result.machine)}, ${result.generatedAt.slice(0, 10)}; load average ${result.loadAverage.start.join(' / ')} at`,
    `the start and ${result.loadAverage.end.join(' / ')} at the end (1 / 5 / 15 min); ${result.pinning.note}.`,
    '`pnpm bench --report-only` writes it again from latest.json.',
    '',
    `| target | ${protocols.join(' | ')} |`,
    `|---|${protocols.map(() => '---').join('|')}|`,
    ...names.map(
      (name) =>
        `| ${name} | ${protocols.map((p) => targetCell(result.targets.find((t) => t.name === name && t.protocol === p))).join(' | ')} |`,
    ),
    '',
    'How each capacity search ended (the first failed step: whose core was full, or `neither`):',
    [...result.protocols, ...result.floors]
      .map((r) => `${r.protocol} ${capacityText(r)}${r.capacity ? ` (${r.capacity.limitedBy})` : ''}`)
      .join(' · '),
    '',
  ];
  const s = result.startup;
  if (s) {
    lines.push(
      ...(s.note ? [s.note, ''] : []),
      '| start-up and footprint | `pnpm serve` → listening, ms | idle server RSS, MiB | all processes, MiB | `pnpm client` → prompt, ms | bundled with its dependencies: → listening ms, RSS MiB |',
      '|---|---|---|---|---|---|',
      ...s.rows.map(
        (r) =>
          `| ${r.protocol} | ${num(r.serverStartMs)} | ${num(r.serverRssMiB)} | ${num(r.treeRssMiB)} (${num(r.processes)}) | ${num(r.clientPromptMs)} | ${r.plain ? `${num(r.plain.startMs)}, ${num(r.plain.rssMiB)}` : 'n/a'} |`,
      ),
      '',
      s.baseline
        ? `Idle \`node\` with nothing loaded: ${s.baseline.nodeRssMiB} MiB RSS; with the tsx loader and nothing else: ${s.baseline.nodeTsxRssMiB} MiB.`
        : '',
    );
  } else {
    lines.push('Start-up and footprint: not measured on this run (`pnpm bench --only startup`).');
  }
  const sm = result.sessionMemory;
  if (sm)
    lines.push(
      '',
      `Stored sessions: ${sm.perSessionKiB} KiB RSS (${sm.perSessionHeapKiB} KiB heap) per session of ${sm.turns} turns, ${sm.sessions.toLocaleString('en-US')} sessions.`,
    );
  return lines.join('\n');
}

export function diagramsSnippet(): string {
  return PROTOCOL_PACKAGES.map(
    (p) => `### ${DIAGRAM_TITLES[p]}\n\n![${DIAGRAM_TITLES[p]} sequence diagram](sequence_diagrams/${p}.svg)`,
  ).join('\n\n');
}

/** Update the root README and each protocol README; returns the files it changed. */
export async function updateReadmes(result: BenchResult, repoRoot: string): Promise<string[]> {
  const changed: string[] = [];
  const edit = async (file: string, sections: Array<[string, string]>) => {
    const path = join(repoRoot, file);
    let text = await readFile(path, 'utf8').catch(() => undefined);
    if (text === undefined) return;
    const before = text;
    for (const [name, body] of sections) text = replaceSection(text, name, body) ?? text;
    if (text !== before) {
      await writeFile(path, text);
      changed.push(file);
    }
  };
  await edit('README.md', [
    ['bench:root', rootSnippet(result)],
    ['diagrams:root', diagramsSnippet()],
  ]);
  await edit(join('packages', 'bench', 'README.md'), [['bench:bench', benchSnippet(result)]]);
  for (const p of PROTOCOL_PACKAGES) {
    const snippet = protocolSnippet(result, p);
    if (snippet) await edit(join('packages', p, 'README.md'), [[`bench:${p}`, snippet]]);
  }
  return changed;
}
