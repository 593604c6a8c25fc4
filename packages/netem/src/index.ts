/**
 * @gtp/netem — network conditions in user space, for comparing transports as users meet them.
 * A loopback TCP proxy (`startProxy`) whose per-direction effects are small stream transforms,
 * usable on their own too.
 */
export { Bandwidth, type BandwidthOptions, DEFAULT_BURST_BYTES } from './bandwidth.ts';
export { Cut, type CutOptions } from './cut.ts';
export { FlightCounter } from './flights.ts';
export { IdleTimer } from './idle.ts';
export { Handshake, Latency, type LatencyOptions } from './latency.ts';
export {
  type DirectionProfile,
  LINUX_RTO_MIN_MS,
  LOSSY_STALL_PROBABILITY,
  type NetworkProfile,
  PROFILE_NAMES,
  PROFILES,
  type ProfileName,
  profile,
  withConditions,
} from './profiles.ts';
export { NetworkProxy, type ProxyOptions, type ProxyStats, startProxy } from './proxy.ts';
export { Stall, type StallOptions } from './stall.ts';
