/**
 * A room is the live side of one session: the connections that joined it and the reply that
 * is running in it. It is the only place that fans frames out, so a later version can publish
 * the same frames through Redis to the members connected to other server instances.
 *
 * Rules it enforces:
 * - every member receives the reply stream (start/delta/done), whoever asked;
 * - what a member says and types goes to the others, never back to the sender;
 * - presence goes to everyone on each join and leave;
 * - a reply continues while any member is there; when the last one leaves it is aborted.
 */
import { ChatError, type ChatService } from '@gtp/core';
import type { ServerFrame } from './protocol.ts';

/** One connection, as the room sees it. */
export interface RoomMember {
  readonly id: string;
  /** Deliver one serialised frame. The member applies its own backpressure policy. */
  deliver(data: string): void;
}

export class Room {
  readonly sessionId: string;
  readonly #chat: ChatService;
  readonly #members = new Map<string, RoomMember>();
  #reply: { controller: AbortController; finished: Promise<void> } | undefined;

  constructor(sessionId: string, chat: ChatService) {
    this.sessionId = sessionId;
    this.#chat = chat;
  }

  get size(): number {
    return this.#members.size;
  }

  /** True while a reply is streaming (or winding down after a cancel). */
  get replying(): boolean {
    return this.#reply !== undefined;
  }

  /** Resolves when the reply in flight, if any, has sent its final event. */
  async settled(): Promise<void> {
    await this.#reply?.finished;
  }

  join(member: RoomMember): void {
    this.#members.set(member.id, member);
    this.broadcast({ type: 'presence', connections: this.size, connectionId: member.id, change: 'joined' });
  }

  /** Idempotent. The last member leaving aborts the reply: nobody is left to read it. */
  leave(member: RoomMember): void {
    if (!this.#members.delete(member.id)) return;
    this.broadcast({ type: 'presence', connections: this.size, connectionId: member.id, change: 'left' });
    if (this.size === 0)
      this.#reply?.controller.abort(new ChatError('internal', 'every member left the session'));
  }

  /** Serialise once, deliver to every member (but `except`). */
  broadcast(frame: ServerFrame, options: { except?: string } = {}): void {
    const data = JSON.stringify(frame);
    for (const member of this.#members.values()) {
      if (member.id !== options.except) member.deliver(data);
    }
  }

  /**
   * Start a reply to what `from` said. Throws ChatError (bad text, busy, unknown session) before
   * anything is broadcast; once it resolves, the reply streams to every member in the background.
   */
  async startReply(text: string, from: RoomMember): Promise<void> {
    const controller = new AbortController();
    const events = this.#chat.reply(this.sessionId, text, { signal: controller.signal });
    // Pull the first event ourselves: failures before `start` are thrown here, answered to the sender only.
    const first = await events.next();
    if (first.done || first.value.type !== 'start') {
      throw new ChatError('internal', 'the reply did not start');
    }
    const { messageId } = first.value;
    this.broadcast({ type: 'message', role: 'user', text, connectionId: from.id }, { except: from.id });
    this.broadcast({ ...first.value, connectionId: from.id });

    const reply = { controller, finished: Promise.resolve() };
    this.#reply = reply;
    reply.finished = (async () => {
      try {
        for await (const event of events) {
          if (event.type !== 'start') this.broadcast(event);
        }
      } catch (error) {
        this.broadcast({ type: 'error', messageId, error: ChatError.from(error).toJSON() });
      } finally {
        if (this.#reply === reply) this.#reply = undefined;
      }
    })();
    // Everyone (the asker included) may have left while the reply was starting.
    if (this.size === 0) controller.abort(new ChatError('internal', 'every member left the session'));
  }

  /** Stop the reply in flight; its members receive `done` with finishReason `cancelled`. */
  cancel(reason = 'cancelled by a member of the session'): boolean {
    if (!this.#reply) return false;
    this.#reply.controller.abort(new ChatError('internal', reason));
    return true;
  }
}

/** Every room of this process, by session id. A room lives while it has members or a reply. */
export class Rooms {
  readonly #chat: ChatService;
  readonly #rooms = new Map<string, Room>();

  constructor(chat: ChatService) {
    this.#chat = chat;
  }

  get size(): number {
    return this.#rooms.size;
  }

  get(sessionId: string): Room | undefined {
    return this.#rooms.get(sessionId);
  }

  /** The room of a session, created on first use. */
  open(sessionId: string): Room {
    let room = this.#rooms.get(sessionId);
    if (!room) {
      room = new Room(sessionId, this.#chat);
      this.#rooms.set(sessionId, room);
    }
    return room;
  }

  /** A member left: forget the room once it is empty and its reply has ended. */
  leave(room: Room, member: RoomMember): void {
    room.leave(member);
    if (room.size > 0) return;
    void room.settled().then(() => {
      if (room.size === 0 && !room.replying && this.#rooms.get(room.sessionId) === room) {
        this.#rooms.delete(room.sessionId);
      }
    });
  }

  /** Shutdown: cancel every reply and wait until each has sent its final event. */
  async cancelAll(reason: string): Promise<void> {
    const rooms = [...this.#rooms.values()];
    for (const room of rooms) room.cancel(reason);
    await Promise.all(rooms.map((room) => room.settled()));
  }
}
