import type { Protocol } from '../constants.ts';
import type { ChatEvent, Message, Session } from '../events.ts';
import type { StatsSnapshot } from '../stats.ts';
import type { HttpApi } from './http-api.ts';
import type { ClientAdapter, Health, SendOptions } from './types.ts';

/**
 * What every HTTP-based ClientAdapter shares: health, stats, sessions and history over one
 * HttpApi. A protocol's adapter extends it and adds only its own chat call (and connection).
 */
export abstract class HttpClientAdapter implements ClientAdapter {
  abstract readonly protocol: Protocol;
  readonly target: string;
  protected readonly api: HttpApi;

  constructor(api: HttpApi) {
    this.api = api;
    this.target = api.baseUrl;
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
