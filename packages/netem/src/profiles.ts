/**
 * Named network profiles. Each direction gets half the round trip as latency, its own jitter
 * and bandwidth; `lossy-4g` adds stalls. Where the numbers come from is written next to each:
 * they are the common lab presets, not measurements of any one network.
 */

export interface DirectionProfile {
  /** One-way delay, ms (RTT/2). */
  latencyMs: number;
  /** Uniform ± around latencyMs, ms; the order of bytes is kept. */
  jitterMs: number;
  /** null: unlimited. */
  bitsPerSecond: number | null;
  /** A chunk held for stallMs with this probability (a lost segment waiting for its retransmission). */
  stall: { probability: number; stallMs: number } | null;
  /** Reset the connection after this many bytes in this direction. */
  cutAfterBytes: number | null;
}

export interface NetworkProfile {
  name: string;
  /** Round trip, ms, and what it's ± (for the reader; the directions hold the effect). */
  rttMs: number;
  rttJitterMs: number;
  /** Client → server and server → client. */
  up: DirectionProfile;
  down: DirectionProfile;
  /** The TCP handshake's round trip, paid before the first byte crosses; 0 on loopback. */
  handshakeMs: number;
  /** Close a connection that carried nothing either way for this long; null: never. */
  idleTimeoutMs: number | null;
  /** Reset every connection this long after it opened; null: never. */
  cutAfterMs: number | null;
  /** Where the numbers come from. */
  source: string;
}

const direction = (latencyMs: number, jitterMs: number, bitsPerSecond: number | null): DirectionProfile => ({
  latencyMs,
  jitterMs,
  bitsPerSecond,
  stall: null,
  cutAfterBytes: null,
});

function link(
  name: string,
  rttMs: number,
  rttJitterMs: number,
  downBitsPerSecond: number | null,
  upBitsPerSecond: number | null,
  source: string,
): NetworkProfile {
  return {
    name,
    rttMs,
    rttJitterMs,
    down: direction(rttMs / 2, rttJitterMs / 2, downBitsPerSecond),
    up: direction(rttMs / 2, rttJitterMs / 2, upBitsPerSecond),
    handshakeMs: rttMs,
    idleTimeoutMs: null,
    cutAfterMs: null,
    source,
  };
}

const MBIT = 1_000_000;
const KBIT = 1_000;

/** Linux's minimum retransmission time-out (TCP_RTO_MIN, include/net/tcp.h): 200 ms. */
export const LINUX_RTO_MIN_MS = 200;
/** lossy-4g: a chunk stalls with this probability (1 %: a poor but usable mobile link). */
export const LOSSY_STALL_PROBABILITY = 0.01;

const fourG = link(
  '4g',
  80,
  20,
  10 * MBIT,
  10 * MBIT,
  'between WebPageTest’s “LTE” (12 Mbit/s, 70 ms RTT) and “4G” (9 Mbit/s, 170 ms) connectivity presets; the ±20 ms jitter is our assumption for a radio link',
);

export const PROFILES = {
  loopback: link(
    'loopback',
    0,
    0,
    null,
    null,
    'no effect at all: the proxy only relays (its own cost shows here)',
  ),
  broadband: link(
    'broadband',
    30,
    0,
    50 * MBIT,
    50 * MBIT,
    'RTT of WebPageTest’s “Cable” preset (28 ms); 50 Mbit/s for a current fixed line (our assumption)',
  ),
  '4g': fourG,
  '3g': link(
    '3g',
    300,
    0,
    1.6 * MBIT,
    750 * KBIT,
    'WebPageTest’s “3G” preset (1.6 Mbit/s down, 300 ms RTT) with the 750 kbit/s up of Chrome DevTools’/Lighthouse’s 3G throttling',
  ),
  'lossy-4g': {
    ...fourG,
    name: 'lossy-4g',
    down: { ...fourG.down, stall: { probability: LOSSY_STALL_PROBABILITY, stallMs: LINUX_RTO_MIN_MS } },
    up: { ...fourG.up, stall: { probability: LOSSY_STALL_PROBABILITY, stallMs: LINUX_RTO_MIN_MS } },
    source:
      '4g, plus: 1 % of chunks held for 200 ms, Linux’s minimum retransmission time-out (TCP_RTO_MIN), with everything behind them waiting',
  },
} satisfies Record<string, NetworkProfile>;

export type ProfileName = keyof typeof PROFILES;
export const PROFILE_NAMES = Object.keys(PROFILES) as ProfileName[];

export function profile(name: string): NetworkProfile {
  if (!(name in PROFILES)) {
    throw new Error(`unknown network profile "${name}"; choose from ${PROFILE_NAMES.join(', ')}`);
  }
  return PROFILES[name as ProfileName];
}

/** A profile with some settings changed (an idle time-out, a cut), under a new name. */
export function withConditions(
  base: NetworkProfile,
  changes: Partial<Pick<NetworkProfile, 'idleTimeoutMs' | 'cutAfterMs' | 'name'>> & {
    cutAfterBytesDown?: number;
  },
): NetworkProfile {
  const { cutAfterBytesDown, ...rest } = changes;
  return {
    ...base,
    ...rest,
    down: cutAfterBytesDown === undefined ? base.down : { ...base.down, cutAfterBytes: cutAfterBytesDown },
  };
}
