/**
 * One WebSocket connection as the server keeps it: who it is, the room it is in, and its sends,
 * with the backpressure rule (a connection that cannot keep up is closed with 1013, never buffered
 * without bound). The frames it receives are handled in server.ts.
 */
import { ChatError, type Stats } from '@gtp/core';
import { WebSocket } from 'ws';
import { closeWithin } from './close.ts';
import { CLOSE_CODES, type ServerFrame } from './protocol.ts';
import type { Room, RoomMember, Rooms } from './room.ts';

/** What a connection needs of the logger (Fastify's pino child). */
interface ConnectionLog {
  warn(details: object, message: string): void;
}

export interface ConnectionOptions {
  id: string;
  /** Who the upgrade's access check let in. */
  principal: string;
  rooms: Rooms;
  stats: Stats;
  log: ConnectionLog;
  /** Unsent bytes the socket may queue before the connection is cut off as a slow consumer. */
  maxBufferedBytes: number;
  /** True once the server is shutting down. */
  closing: () => boolean;
}

export class Connection implements RoomMember {
  readonly id: string;
  readonly principal: string;
  readonly #ws: WebSocket;
  readonly #options: ConnectionOptions;
  #room: Room | undefined;

  constructor(ws: WebSocket, options: ConnectionOptions) {
    this.#ws = ws;
    this.#options = options;
    this.id = options.id;
    this.principal = options.principal;
  }

  /** The room (session) this connection has joined, if any. */
  get room(): Room | undefined {
    return this.#room;
  }

  deliver(data: string): void {
    const ws = this.#ws;
    const { log, stats, maxBufferedBytes } = this.#options;
    if (ws.readyState !== WebSocket.OPEN) return;
    // Backpressure: `bufferedAmount` is what `send()` queued but the network has not taken.
    // The model does not wait for the slowest reader, so a reader that falls behind is cut off.
    if (ws.bufferedAmount > maxBufferedBytes) {
      log.warn({ bufferedAmount: ws.bufferedAmount }, 'slow consumer: closing');
      stats.recordError('rate_limited');
      const reason = `slow consumer: over ${maxBufferedBytes} bytes unsent`;
      closeWithin(ws, CLOSE_CODES.TRY_AGAIN_LATER, reason);
      queueMicrotask(() => this.leave()); // not inside the broadcast that is delivering to us
      return;
    }
    ws.send(data);
    stats.addBytesSent(Buffer.byteLength(data));
  }

  send(frame: ServerFrame): void {
    this.deliver(JSON.stringify(frame));
  }

  sessionEnded(): void {
    // The session was deleted or expired, on any instance (or the server is shutting down).
    this.leave();
    if (this.#options.closing()) return;
    this.send({
      type: 'error',
      error: { code: 'session_not_found', message: 'the session was deleted or has expired; join another' },
    });
  }

  /** Leave the current room (if any) and join the room of `sessionId`, replaying after `after`. */
  enter(sessionId: string, after: number | undefined): Promise<void> {
    this.leave();
    const room = this.#options.rooms.open(sessionId);
    this.#room = room;
    return room.join(this, after).catch((error: unknown) => {
      this.leave();
      throw error;
    });
  }

  leave(): void {
    if (this.#room) this.#options.rooms.leave(this.#room, this);
    this.#room = undefined;
  }

  /** The room, for a frame that needs one. */
  requireRoom(): Room {
    if (!this.#room) throw new ChatError('invalid_request', 'join a session first: {"type":"join"}');
    return this.#room;
  }
}
