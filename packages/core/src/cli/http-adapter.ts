import type { SessionListPage } from '../chat-service.ts';
import type { Protocol } from '../constants.ts';
import type { ChatEvent, Message, Session } from '../events.ts';
import type { StatsSnapshot } from '../stats.ts';
import type { HttpApi } from './http-api.ts';
import { traceUndici } from './http-trace.ts';
import type { ClientAdapter, Health, SendOptions } from './types.ts';
import type { WireTrace } from './wire-trace.ts';

/**
 * What every HTTP-based ClientAdapter shares: health, stats, sessions and history over one
 * HttpApi. A protocol's adapter extends it and adds only its own chat call (and connection).
 */
export abstract class HttpClientAdapter implements ClientAdapter {
  abstract readonly protocol: Protocol;
  readonly target: string;
  protected readonly api: HttpApi;
  readonly trace: WireTrace | undefined;
  /** Stops reporting this origin's undici traffic to the trace; a subclass's close() calls it. */
  protected readonly untrace: () => void;

  /** With a `trace`, every undici request to the server's origin is reported to it (--trace). */
  constructor(api: HttpApi, trace?: WireTrace) {
    this.api = api;
    this.target = api.baseUrl;
    this.trace = trace;
    this.untrace = trace ? traceUndici(trace, api.baseUrl) : () => undefined;
  }

  abstract send(sessionId: string, text: string, options?: SendOptions): AsyncIterable<ChatEvent>;
  abstract close(): Promise<void>;

  health(): Promise<Health> {
    return this.api.health();
  }
  stats(): Promise<StatsSnapshot> {
    return this.api.stats();
  }
  createSession(): Promise<Session> {
    return this.api.createSession();
  }
  getSession(id: string): Promise<Session> {
    return this.api.getSession(id);
  }
  listSessions(): Promise<Session[]> {
    return this.api.listSessions();
  }
  sessionsPage(cursor?: string): Promise<SessionListPage> {
    return this.api.sessionsPage(cursor);
  }
  deleteSession(id: string): Promise<void> {
    return this.api.deleteSession(id);
  }
  history(id: string): Promise<Message[]> {
    return this.api.history(id);
  }
  clearHistory(id: string): Promise<void> {
    return this.api.clearHistory(id);
  }
  bytesReceived(): number {
    return this.api.bytesReceived;
  }
}
