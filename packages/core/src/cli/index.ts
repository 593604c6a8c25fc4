export { ClientStats } from './client-stats.ts';
export { HttpClientAdapter } from './http-adapter.ts';
export { connectionError, errorFromBody, HttpApi, type HttpApiOptions } from './http-api.ts';
export { type AdapterOptions, defaultTarget, runClient, runShell } from './run-client.ts';
export { fmtMs, Shell, type ShellOptions } from './shell.ts';
export type { ClientAdapter, ExtraCommand, Health, NoticeListener, SendOptions } from './types.ts';
