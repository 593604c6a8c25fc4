import type { SessionListPage } from '../chat-service.ts';
import type { Protocol } from '../constants.ts';
import type { ChatEvent, Message, Health as ServerHealth, Session, StatsSnapshot } from '../events.ts';
import type { WireTrace } from './wire-trace.ts';

/**
 * What a server says of its health: `GET /health` (HealthSchema in events.ts). `dependencies` is
 * optional here because gRPC's health service reports SERVING or not, and nothing about them.
 */
export type Health = Omit<ServerHealth, 'dependencies'> & Partial<Pick<ServerHealth, 'dependencies'>>;

export interface SendOptions {
  /** Aborting it cancels the reply in flight (Ctrl+C in the shell). */
  signal?: AbortSignal;
}

/**
 * Where the shell writes what happens outside a reply: other members, reconnects. Notices with
 * the same `key` are one changing status ("reconnecting, attempt 3"): the shell updates the
 * line in place (a terminal) or prints only the first of a run (a pipe).
 */
export type NoticeListener = (notice: string, options?: NoticeOptions) => void;

export interface NoticeOptions {
  key?: string;
  /**
   * A side note of the transport, not news from the session (a reply resumed after a dropped
   * connection): printed dim, and in the middle of a reply on a line of its own.
   */
  dim?: boolean;
}

/** A protocol-specific command, e.g. `/ping` or `/reconnect`. */
export interface ExtraCommand {
  name: string;
  usage?: string;
  description: string;
  /** Returns the line(s) to print. */
  run(args: string[], context: { sessionId: string | undefined }): Promise<string | undefined>;
}

/**
 * What a protocol's client.ts gives the shell: the transport, nothing else.
 * Every method throws ChatError (its `code` from the server's answer) on failure.
 */
export interface ClientAdapter {
  readonly protocol: Protocol;
  /** The server address, as the user would type it. */
  readonly target: string;
  /** Swagger UI, where the protocol has one. */
  readonly docsUrl?: string;
  /** Browser demo page, where the protocol has one. */
  readonly demoUrl?: string;
  /** Extra commands this protocol brings. */
  readonly commands?: readonly ExtraCommand[];
  /** `--trace`: the transport reports what crosses the wire here; the shell prints it. */
  readonly trace?: WireTrace;

  health(): Promise<Health>;
  stats(): Promise<StatsSnapshot>;
  createSession(): Promise<Session>;
  getSession(id: string): Promise<Session>;
  /** Every session of the caller (the listing is paginated: all pages, bounded). */
  listSessions(): Promise<Session[]>;
  /** One page of them, oldest first; `cursor` is the previous page's nextCursor. */
  sessionsPage?(cursor?: string): Promise<SessionListPage>;
  deleteSession(id: string): Promise<void>;
  history(id: string): Promise<Message[]>;
  clearHistory(id: string): Promise<void>;
  /**
   * Send the user's text and yield the reply as ChatEvents (`start`, `delta`…, `done` | `error`).
   * A transport without streaming (REST) yields the whole text as one delta when it arrives.
   */
  send(sessionId: string, text: string, options?: SendOptions): AsyncIterable<ChatEvent>;
  /**
   * Make the session the current one (WebSocket joins it, SSE opens its event stream).
   * Optional: request/response transports need nothing.
   */
  useSession?(sessionId: string): Promise<void>;
  /** Bytes of response payload received from the server so far. */
  bytesReceived(): number;
  /** How often the transport reconnected (SSE, WebSocket). */
  reconnects?(): number;
  /** Subscribe to out-of-band notices (another member's message, typing, a reconnect). */
  onNotice?(listener: NoticeListener): void;
  /** Tell the others the user is typing (WebSocket). */
  typing?(active: boolean): void;
  close(): Promise<void>;
}
