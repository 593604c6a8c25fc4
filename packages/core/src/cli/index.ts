export { ClientStats } from './client-stats.ts';
export { type ColorLevel, colorLevel } from './color.ts';
export { HttpClientAdapter } from './http-adapter.ts';
export {
  connectionError,
  errorFromBody,
  HttpApi,
  type HttpApiOptions,
  type HttpPoolOptions,
  httpPool,
} from './http-api.ts';
export { traceUndici } from './http-trace.ts';
export {
  type LoggedEvent,
  RESUME_BASE_DELAY_MS,
  RESUME_GIVE_UP_MS,
  RESUME_MAX_DELAY_MS,
  RESUMED_SILENCE_MS,
  type ResumableReplyOptions,
  resumableReply,
  resumedNotice,
} from './resume.ts';
export {
  type AdapterOptions,
  type ClientArgs,
  clientUsage,
  defaultTarget,
  parseClientArgs,
  runClient,
  runShell,
  targetProblem,
} from './run-client.ts';
export { allSessions, MAX_SESSION_PAGES } from './session-pages.ts';
export { describeError, fmtMs, Shell, type ShellOptions } from './shell.ts';
export type {
  ClientAdapter,
  ExtraCommand,
  Health,
  NoticeListener,
  NoticeOptions,
  SendOptions,
} from './types.ts';
export { hex, printable, TRACE_PAYLOAD_MAX_CHARS, type TraceSink, WireTrace } from './wire-trace.ts';
