/**
 * A small matrix (two protocols × two scenarios) through the real proxy and a real nginx, with
 * the slow model scaled down; and nginx started and stopped on its own. Outcomes only.
 */
import { existsSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { runMatrix } from '../src/conditions.ts';
import { conditionsSnippet, renderConditionsMarkdown } from '../src/conditions-report.ts';
import { Nginx } from '../src/nginx.ts';
import { buildScenarios, FULL_SIZES } from '../src/scenarios.ts';

const reachable = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });

describe('nginx', () => {
  it('starts on loopback with a generated config, proxies, and stops leaving nothing behind', async () => {
    const upstream = http.createServer((_req, res) => res.end('ok'));
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const port = (upstream.address() as net.AddressInfo).port;
    const nginx = await Nginx.start({ mode: 'default', upstreams: [{ protocol: 'rest', port }] });
    const target = nginx.targets.get('rest')!;
    const res = await fetch(`${target}/health`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('ok');
    const listenPort = Number(new URL(target).port);
    await nginx.stop();
    expect(nginx.running).toBe(false);
    expect(await reachable(listenPort)).toBe(false);
    expect(existsSync(nginx.dir)).toBe(false);
    upstream.closeAllConnections();
    await new Promise((r) => upstream.close(r));
  });
});

describe('pnpm compare --matrix (small)', () => {
  it('two protocols × two scenarios: nginx tuned, and a slow model behind an idle time-out', async () => {
    const sizes = { ...FULL_SIZES, slowTtftMs: 1_500, idleTimeoutMs: 500, shortHeartbeatMs: 200, turns: 2 };
    const scenarios = buildScenarios(sizes).filter((s) =>
      ['turns/nginx-tuned', 'slow-model/lb-idle/hb-0.2s'].includes(s.id),
    );
    expect(scenarios).toHaveLength(2);
    const steps: number[] = [];
    const result = await runMatrix({
      scenarios,
      protocols: ['streamable-http', 'websocket'],
      command: 'test',
      onStep: (done) => steps.push(done),
      onLog: () => undefined,
    });
    expect(steps.at(-1)).toBe(4);
    expect(result.rows.map((r) => `${r.scenario} ${r.protocol}`)).toEqual([
      'turns/nginx-tuned streamable-http',
      'turns/nginx-tuned websocket',
      'slow-model/lb-idle/hb-0.2s streamable-http',
      'slow-model/lb-idle/hb-0.2s websocket',
    ]);
    const [ndjson, ws, slowNdjson, slowWs] = result.rows;
    // Through the README's nginx config both stream, turn after turn.
    for (const row of [ndjson!, ws!]) {
      expect(row.error, `${row.protocol}: ${row.error}`).toBeNull();
      expect(row.completed).toBe(true);
      expect(row.streamed).toBe(true);
      expect(row.coldFirstTokenMs).toBeGreaterThan(0);
      expect(row.warmFirstTokenMs).toBeGreaterThan(0);
      expect(row.roundTripsCold).toBeGreaterThanOrEqual(1);
      expect(row.bytesDown).toBeGreaterThan(1000);
    }
    // No bytes for 1.5 s behind a 0.5 s idle time-out: NDJSON has no heartbeat, so the proxy cuts
    // it, and it comes back by resuming from its last seq (the server keeps generating meanwhile);
    // the WebSocket pings every 0.2 s and is never cut.
    expect(slowNdjson!.error, `${slowNdjson!.protocol}: ${slowNdjson!.error}`).toBeNull();
    expect(slowNdjson!.completed).toBe(true);
    expect(slowWs!.error).toBeNull();
    expect(slowWs!.completed).toBe(true);
    const md = renderConditionsMarkdown(result);
    expect(md).toContain('| nginx-tuned | websocket |');
    expect(conditionsSnippet(result)).toContain('survives');
  }, 90_000);
});
