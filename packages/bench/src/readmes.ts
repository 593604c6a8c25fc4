/**
 * Puts the benchmark's numbers into the READMEs, so that no README number is typed by hand:
 * the text between `<!-- bench:<name> -->` and `<!-- /bench:<name> -->` is replaced (the end
 * marker is added the first time). Only a full run's numbers go into the READMEs.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BenchResult } from './bench.ts';
import { describeMachine } from './machine.ts';
import { protocolSnippet } from './report.ts';

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
    `${result.generatedAt.slice(0, 10)}. Loopback, servers in a separate process from the load generator,`,
    `${result.model.tokensPerReply}-token replies from the bench model. Method, floors and every target:`,
    '[packages/bench/results/latest.md](packages/bench/results/latest.md). Reproduce with `pnpm bench`.',
    '',
    '| protocol | first token ms p50 / p99 | inter-chunk ms at 20 tok/s p50 / p99 | chunks/s (× bare-Node floor) | bytes / reply | idle connection KiB | set-up ms p50 |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const r of result.protocols) {
    lines.push(
      `| ${r.protocol} | ${pair(r.ttftMs)} | ${pair(r.interChunkMs)} | ${num(r.chunksPerSec)}${r.floorRatio !== null ? ` (${r.floorRatio}×)` : ''} | ${num(r.bytesPerReply)} | ${num(r.idleConnectionKiB)} | ${r.connectMs ? r.connectMs.p50 : 'n/a'} |`,
    );
  }
  const missed = result.targets.filter((t) => t.met === false);
  lines.push(
    '',
    `Targets: ${result.targets.filter((t) => t.met === true).length} met, ${missed.length} not met${
      missed.length ? ` (${missed.map((t) => `${t.protocol}: ${t.name} = ${t.value}`).join('; ')})` : ''
    }. What falls short, and whose it is, is written down in the benchmark results.`,
    '',
    '![First token](packages/bench/results/ttft.svg)',
    '![Chunks per second](packages/bench/results/chunks-per-sec.svg)',
    '![Bytes per reply](packages/bench/results/bytes-per-reply.svg)',
    '![Idle connection memory](packages/bench/results/idle-connection.svg)',
    '![Jitter under load](packages/bench/results/jitter.svg)',
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
  for (const p of PROTOCOL_PACKAGES) {
    const snippet = protocolSnippet(result, p);
    if (snippet) await edit(join('packages', p, 'README.md'), [[`bench:${p}`, snippet]]);
  }
  return changed;
}
