/**
 * The scenarios of `pnpm compare --matrix`: what each one sets up and what it measures. Every
 * scenario runs for all five protocols. The durations of the slow-model scenarios are the real
 * ones by default (a model that thinks 30 s before its first token, behind a 10 s idle time-out)
 * and can be scaled down with flags for CI.
 */
import { HEARTBEAT_INTERVAL_MS } from '@gtp/core';
import { type NetworkProfile, PROFILE_NAMES, PROFILES, withConditions } from '@gtp/netem';

export type Path = 'direct' | 'nginx-default' | 'nginx-tuned';
export type ScenarioKind = 'turns' | 'slow-model' | 'cut';

export interface Scenario {
  /** Stable id, e.g. `turns/3g`, `turns/nginx-default`, `slow-model/lb-idle/hb-15s`. */
  id: string;
  kind: ScenarioKind;
  profile: NetworkProfile;
  path: Path;
  /** nginx read time-outs under test, seconds (slow-model through nginx). */
  nginxReadTimeoutSeconds?: number;
  /** The simulated model's pace and the servers' heartbeat interval for this scenario. */
  simTtftMs: number;
  simTokenDelayMs: number;
  heartbeatMs: number;
  turns: number;
  /** The slow scenarios run the five protocols at once (they mostly wait); the others one by one. */
  parallel: boolean;
  /** cut: reset every connection this long after the turn was sent, ms. */
  cutAtMs?: number;
  /** What the reader should take from it. */
  description: string;
  /** Servers over TLS (HTTP/2 by ALPN where the client offers it), clients trusting the bench's CA. */
  tls?: boolean;
}

export interface MatrixSizes {
  /** The slow model's time to first token, ms (30 s for real). */
  slowTtftMs: number;
  /** The idle time-out it sits behind, ms (10 s for real). */
  idleTimeoutMs: number;
  /** The heartbeat interval of the "heartbeat below the time-out" runs, ms. */
  shortHeartbeatMs: number;
  /** Turns per conversation: one cold, the rest warm. */
  turns: number;
  /** The model's pace in the other scenarios. */
  simTtftMs: number;
  simTokenDelayMs: number;
}

export const FULL_SIZES: MatrixSizes = {
  slowTtftMs: 30_000,
  idleTimeoutMs: 10_000,
  shortHeartbeatMs: 5_000,
  turns: 3,
  simTtftMs: 350,
  simTokenDelayMs: 25,
};

export function buildScenarios(
  sizes: MatrixSizes = FULL_SIZES,
  only?: { kinds?: ScenarioKind[]; profiles?: string[]; tls?: boolean },
): Scenario[] {
  const base = {
    simTtftMs: sizes.simTtftMs,
    simTokenDelayMs: sizes.simTokenDelayMs,
    heartbeatMs: HEARTBEAT_INTERVAL_MS,
    turns: sizes.turns,
    parallel: false,
  };
  const out: Scenario[] = [];
  for (const name of only?.profiles ?? PROFILE_NAMES) {
    out.push({
      ...base,
      id: `turns/${name}`,
      kind: 'turns',
      profile: PROFILES[name as keyof typeof PROFILES],
      path: 'direct',
      description: `a conversation on ${name}: the first turn cold (connection set-up included), the rest warm`,
    });
    // --tls: the same over TLS, so the cold turn shows each protocol's handshake cost.
    if (only?.tls)
      out.push({
        ...base,
        id: `turns-tls/${name}`,
        kind: 'turns',
        profile: PROFILES[name as keyof typeof PROFILES],
        path: 'direct',
        tls: true,
        description: `the same conversation on ${name} over TLS: the cold turn pays the TLS handshake too`,
      });
  }
  for (const path of ['nginx-default', 'nginx-tuned'] as const) {
    out.push({
      ...base,
      id: `turns/${path}`,
      kind: 'turns',
      profile: PROFILES.loopback,
      path,
      description: `the same conversation through nginx with its ${path === 'nginx-default' ? 'default' : 'README-tuned'} configuration`,
    });
  }
  const idleS = Math.round(sizes.idleTimeoutMs / 100) / 10;
  for (const heartbeatMs of [HEARTBEAT_INTERVAL_MS, sizes.shortHeartbeatMs]) {
    const hb = `hb-${heartbeatMs / 1000}s`;
    const slow = {
      ...base,
      kind: 'slow-model' as const,
      simTtftMs: sizes.slowTtftMs,
      heartbeatMs,
      turns: 1,
      parallel: true,
    };
    out.push({
      ...slow,
      id: `slow-model/lb-idle/${hb}`,
      profile: withConditions(PROFILES.loopback, {
        name: `loopback, ${idleS} s idle time-out`,
        idleTimeoutMs: sizes.idleTimeoutMs,
      }),
      path: 'direct',
      description: `first token after ${sizes.slowTtftMs / 1000} s behind a load balancer that resets connections idle for ${idleS} s; heartbeat every ${heartbeatMs / 1000} s`,
    });
    out.push({
      ...slow,
      id: `slow-model/nginx-timeout/${hb}`,
      profile: PROFILES.loopback,
      path: 'nginx-tuned',
      nginxReadTimeoutSeconds: Math.max(1, Math.round(sizes.idleTimeoutMs / 1000)),
      description: `first token after ${sizes.slowTtftMs / 1000} s through nginx (tuned) with its read time-outs at ${Math.max(1, Math.round(sizes.idleTimeoutMs / 1000))} s; heartbeat every ${heartbeatMs / 1000} s`,
    });
  }
  out.push({
    ...base,
    id: 'cut/mid-reply',
    kind: 'cut',
    profile: PROFILES.loopback,
    path: 'direct',
    turns: 1,
    cutAtMs: sizes.simTtftMs + 8 * sizes.simTokenDelayMs,
    description: 'every connection reset mid-reply (after about 8 tokens); then the next turn',
  });
  return only?.kinds ? out.filter((s) => only.kinds!.includes(s.kind)) : out;
}
