/**
 * A room is the live side of one session: the connections that joined it and the reply that
 * is running in it. It is the only place that fans frames out.
 *
 * Rules it enforces:
 * - every member receives the reply stream (start/delta/done), whoever asked: each member reads
 *   the session's reply log (core's `chat.log`), so every reply frame carries its `seq`, and a
 *   member that joins with `after` is first sent what it missed (a reload mid-reply, joining
 *   without `after`, is sent the reply in flight from its start);
 * - what a member says and types goes to the others, never back to the sender;
 * - presence goes to everyone on each join and leave, counting every instance;
 * - a reply continues while any member listens, on any instance; when the last one leaves,
 *   the reply is cancelled wherever it runs.
 *
 * Several instances: a member is connected to one server, but the session's other members may
 * be connected to others. Each instance that has members of a session subscribes to the room's
 * broker channel (`ws:room:<sessionId>`: Redis pub/sub with REDIS_URL, in-process without) while
 * it has members there. Every frame a room broadcasts (presence, typing, what a member said) goes
 * to its own members directly and to the channel; the rooms on the other instances deliver it to
 * theirs. The reply itself runs on the instance whose member asked, into the reply log (a Redis
 * Stream with REDIS_URL), which every member reads wherever it is connected.
 */
import {
  abortReason,
  type ChatService,
  type LoggedEvent,
  RESUME_GRACE_MS,
  type ReplyListener,
} from '@gtp/core';
import type { Presence } from './presence.ts';
import type { ServerFrame } from './protocol.ts';

/** One connection, as the room sees it. */
export interface RoomMember {
  readonly id: string;
  /** Who this connection is (the upgrade's Access): its sends run as this principal. */
  readonly principal?: string;
  /** Deliver one serialised frame. The member applies its own backpressure policy. */
  deliver(data: string): void;
  /** The session was deleted or expired (or the server shuts down): the member is out of the room. */
  sessionEnded?(): void;
}

/** A reply-log event as a frame with its `seq` first: `{"seq":12,"type":"delta",…}`, not re-encoded. */
export function replyFrame({ seq, data }: LoggedEvent): string {
  return `{"seq":${seq},${data.slice(1)}`;
}

/** A member as a reader of the session's reply log. */
function logListener(member: RoomMember): ReplyListener {
  return {
    send: (item) => member.deliver(replyFrame(item)),
    // Carrying the newest seq: the member's next `join {after}` resumes from there.
    reset: (latestSeq, reason, replaying) =>
      member.deliver(JSON.stringify({ type: 'reset', seq: latestSeq, reason, replaying })),
    close: () => member.sessionEnded?.(),
  };
}

/** The broker channel of a session's room (the broker adds its own prefix, `gtp:` for Redis). */
export function roomChannel(sessionId: string): string {
  return `ws:room:${sessionId}`;
}

/**
 * A frame on its way to the other instances: `<origin> <except or -> <type> <frame JSON>`. A short
 * text header in front of the frame, so the frame is relayed byte for byte, never re-encoded.
 * `origin` lets an instance skip its own frames (it delivered them already); `except` is the
 * member who must not receive it (the one typing, the one who said it).
 */
interface Relayed {
  origin: string;
  except: string | undefined;
  type: string;
  data: string;
}

function encode(relayed: Relayed): string {
  return `${relayed.origin} ${relayed.except ?? '-'} ${relayed.type} ${relayed.data}`;
}

function decode(message: string): Relayed | undefined {
  const first = message.indexOf(' ');
  const second = message.indexOf(' ', first + 1);
  const third = message.indexOf(' ', second + 1);
  if (first < 1 || second < 0 || third < 0) return undefined;
  const except = message.slice(first + 1, second);
  return {
    origin: message.slice(0, first),
    except: except === '-' ? undefined : except,
    type: message.slice(second + 1, third),
    data: message.slice(third + 1),
  };
}

/** What rooms share on one server instance (Rooms provides it). */
interface RoomHub {
  readonly chat: ChatService;
  /** This server instance: its own frames coming back from the broker are skipped. */
  readonly instanceId: string;
  readonly presence: Presence;
  /**
   * Whether other instances can exist: only with a shared broker (Redis). In-process there is
   * nobody to relay to, so a frame is not encoded and published at all (it costs per token).
   */
  readonly fansOut: boolean;
  /** How long a reply waits for a member after the last one left (LEAVE_GRACE_MS). */
  readonly leaveGraceMs: number;
  /** Resolves after leaveGraceMs, or at once when the server shuts down. */
  graceWait(): Promise<void>;
  publish(sessionId: string, message: string): void;
  /** Keep a background task (a leave) so that shutdown can wait for it. */
  track<T>(task: Promise<T>): Promise<T>;
}

const NOBODY_LEFT = 'every member left the session';
/**
 * When the last member leaves mid-reply, the reply waits this long for someone to (re)join
 * before it is cancelled: a member whose connection dropped comes back with `join {after}` and
 * misses nothing; a session everybody really left stops costing tokens. The same grace as a
 * resume's on NDJSON and gRPC (core's RESUME_GRACE_MS).
 */
export const LEAVE_GRACE_MS = RESUME_GRACE_MS;

export class Room {
  readonly sessionId: string;
  readonly #hub: RoomHub;
  /** The members connected to this instance. */
  readonly #members = new Map<string, RoomMember>();
  /** Per member: whether its join was counted (a leave waits for it, so -1 never overtakes +1). */
  readonly #counted = new Map<string, Promise<boolean>>();
  /** Per member: how to stop reading the reply log. */
  readonly #reading = new Map<string, () => void>();
  #reply: { controller: AbortController; finished: Promise<void> } | undefined;
  /** Members on every instance, as of the last presence frame (sent or relayed). */
  #connections = 0;
  #subscription: Promise<() => Promise<void>> | undefined;
  #pending = new Set<Promise<unknown>>();

  constructor(sessionId: string, hub: RoomHub) {
    this.sessionId = sessionId;
    this.#hub = hub;
  }

  /** Members connected to this instance. */
  get size(): number {
    return this.#members.size;
  }

  /** True while a reply runs here (or is winding down after a cancel). */
  get replying(): boolean {
    return this.#reply !== undefined;
  }

  /** Resolves when the reply in flight here, if any, and pending joins and leaves are done. */
  async settled(): Promise<void> {
    while (this.#reply || this.#pending.size > 0) {
      await Promise.allSettled([this.#reply?.finished, ...this.#pending]);
    }
  }

  /**
   * Add a member. It is sent the replies it missed from the log (after `after`; without it, the
   * reply in flight from its start), then reads them live; it receives this instance's frames at
   * once, the other instances' as soon as the room's channel is subscribed; then every member,
   * everywhere, gets `presence`.
   */
  async join(member: RoomMember, after?: number): Promise<void> {
    this.#members.set(member.id, member);
    const counted = this.#track(this.#join(member, after));
    this.#counted.set(member.id, counted);
    await counted;
  }

  async #join(member: RoomMember, after: number | undefined): Promise<boolean> {
    try {
      await this.#subscribe();
      const stopReading = await this.#hub.chat.log.subscribe(this.sessionId, logListener(member), after);
      if (this.#members.get(member.id) === member) this.#reading.set(member.id, stopReading);
      else stopReading(); // it left while we subscribed
    } catch (error) {
      this.#members.delete(member.id);
      throw error;
    }
    if (!this.#members.has(member.id)) return false; // it left while we subscribed
    const connections = await this.#hub.presence.change(this.sessionId, 1);
    this.broadcast({ type: 'presence', connections, connectionId: member.id, change: 'joined' });
    return true;
  }

  /** Idempotent. When nobody is left anywhere, the session's reply is cancelled wherever it runs. */
  leave(member: RoomMember): void {
    if (!this.#members.delete(member.id)) return;
    this.#reading.get(member.id)?.();
    this.#reading.delete(member.id);
    const counted = this.#counted.get(member.id);
    this.#counted.delete(member.id);
    void this.#track(this.#leave(member.id, counted)).catch(() => undefined);
  }

  async #leave(memberId: string, counted: Promise<boolean> | undefined): Promise<void> {
    if (!(await counted?.catch(() => false))) return;
    const connections = await this.#hub.presence.change(this.sessionId, -1);
    this.broadcast({ type: 'presence', connections, connectionId: memberId, change: 'left' });
    if (connections > 0) return;
    if (this.#hub.leaveGraceMs > 0) {
      await this.#hub.graceWait();
      // Anyone back, on any instance? Counted without telling anyone (+1 then -1).
      const others = (await this.#hub.presence.change(this.sessionId, 1)) - 1;
      await this.#hub.presence.change(this.sessionId, -1);
      if (others > 0) return;
    }
    await this.#hub.chat.cancelReply(this.sessionId, NOBODY_LEFT);
  }

  /** Serialise once, deliver to every member here (but `except`) and to the other instances. */
  broadcast(frame: ServerFrame, options: { except?: string } = {}): void {
    const data = JSON.stringify(frame);
    if (frame.type === 'presence') this.#connections = frame.connections;
    this.#deliver(data, options.except);
    if (!this.#hub.fansOut) return;
    this.#hub.publish(
      this.sessionId,
      encode({ origin: this.#hub.instanceId, except: options.except, type: frame.type, data }),
    );
  }

  /** A frame from the room's channel. */
  relay(message: string): void {
    if (message.startsWith(`${this.#hub.instanceId} `)) return; // ours: delivered here already
    const relayed = decode(message);
    if (!relayed) return;
    if (relayed.type === 'presence') {
      try {
        this.#connections = (JSON.parse(relayed.data) as { connections: number }).connections;
      } catch {
        return; // not a frame of ours
      }
    }
    this.#deliver(relayed.data, relayed.except);
  }

  #deliver(data: string, except: string | undefined): void {
    for (const member of this.#members.values()) {
      if (member.id !== except) member.deliver(data);
    }
  }

  /**
   * Start a reply to what `from` said, on this instance. Throws ChatError (bad text, busy, unknown
   * session) before anything is broadcast; once it resolves, the reply streams in the background.
   */
  async startReply(text: string, from: RoomMember): Promise<void> {
    const controller = new AbortController();
    // Failures before `start` are thrown here, answered to the sender only. The reply's frames
    // (`start` naming the member who asked) reach every member through the log.
    const { finished } = await this.#hub.chat.startReply(this.sessionId, text, {
      signal: controller.signal,
      principal: from.principal,
      startFields: { connectionId: from.id },
      // What was asked, to the others, before the reply's `start`.
      onStart: () =>
        this.broadcast({ type: 'message', role: 'user', text, connectionId: from.id }, { except: from.id }),
    });
    const reply = { controller, finished: Promise.resolve() };
    this.#reply = reply;
    reply.finished = finished.finally(() => {
      if (this.#reply === reply) this.#reply = undefined;
    });
    // Everyone (the asker included) may have left, everywhere, while the reply was starting.
    if (this.#connections === 0) controller.abort(abortReason(NOBODY_LEFT));
  }

  /** Stop the reply running on this instance (shutdown); its members receive `done` (cancelled). */
  cancel(reason: string): boolean {
    if (!this.#reply) return false;
    this.#reply.controller.abort(abortReason(reason));
    return true;
  }

  /** Stop listening to the other instances (the room is empty here). */
  async close(): Promise<void> {
    const subscription = this.#subscription;
    this.#subscription = undefined;
    const unsubscribe = await subscription?.catch(() => undefined);
    await unsubscribe?.();
  }

  /** Subscribe once; a failed attempt (Redis away) is retried by the next join. */
  #subscribe(): Promise<unknown> {
    if (!this.#hub.fansOut) return Promise.resolve();
    if (!this.#subscription) {
      const subscription = this.#hub.chat.broker.subscribe(roomChannel(this.sessionId), (message) =>
        this.relay(message),
      );
      this.#subscription = subscription;
      subscription.catch(() => {
        if (this.#subscription === subscription) this.#subscription = undefined;
      });
    }
    return this.#subscription;
  }

  #track<T>(task: Promise<T>): Promise<T> {
    this.#pending.add(task);
    void task.catch(() => undefined).finally(() => this.#pending.delete(task));
    return this.#hub.track(task);
  }
}

export interface RoomsOptions {
  chat: ChatService;
  instanceId: string;
  presence: Presence;
  /** Where a failed relay to the other instances is reported (once per outage). */
  onRelayError?: (error: unknown) => void;
  /** Default LEAVE_GRACE_MS. */
  leaveGraceMs?: number;
}

/** Every room of this instance, by session id. A room lives while it has members or a reply here. */
export class Rooms implements RoomHub {
  readonly chat: ChatService;
  readonly instanceId: string;
  readonly presence: Presence;
  readonly fansOut: boolean;
  readonly leaveGraceMs: number;
  readonly #graces = new Set<() => void>();
  readonly #rooms = new Map<string, Room>();
  /** Set by `cancelAll()`: from then on a leave's grace is no wait at all. */
  #shuttingDown = false;
  readonly #tasks = new Set<Promise<unknown>>();
  readonly #onRelayError: (error: unknown) => void;
  #relayFailing = false;

  constructor(options: RoomsOptions) {
    this.chat = options.chat;
    this.instanceId = options.instanceId;
    this.presence = options.presence;
    this.fansOut = options.chat.broker.kind !== 'local';
    this.leaveGraceMs = options.leaveGraceMs ?? LEAVE_GRACE_MS;
    this.#onRelayError = options.onRelayError ?? (() => undefined);
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
      room = new Room(sessionId, this);
      this.#rooms.set(sessionId, room);
    }
    return room;
  }

  /** A member left (or never got in): forget the room, and its channel, once it is idle here. */
  leave(room: Room, member: RoomMember): void {
    room.leave(member);
    if (room.size > 0) return;
    void this.track(room.settled()).then(async () => {
      if (room.size === 0 && !room.replying && this.#rooms.get(room.sessionId) === room) {
        this.#rooms.delete(room.sessionId);
        await room.close();
      }
    });
  }

  publish(sessionId: string, message: string): void {
    this.chat.broker.publish(roomChannel(sessionId), message).then(
      () => {
        this.#relayFailing = false;
      },
      (error: unknown) => {
        if (!this.#relayFailing) this.#onRelayError(error); // once per outage, not once per token
        this.#relayFailing = true;
      },
    );
  }

  track<T>(task: Promise<T>): Promise<T> {
    this.#tasks.add(task);
    void task.catch(() => undefined).finally(() => this.#tasks.delete(task));
    return task;
  }

  graceWait(): Promise<void> {
    // A member that leaves during shutdown (its socket closed by it) must not hold it up.
    if (this.#shuttingDown) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#graces.delete(done);
        resolve();
      };
      const timer = setTimeout(done, this.leaveGraceMs);
      this.#graces.add(done);
    });
  }

  /** Shutdown: cancel every reply running here and wait until each has sent its final event. */
  async cancelAll(reason: string): Promise<void> {
    this.#shuttingDown = true;
    for (const done of [...this.#graces]) done();
    const rooms = [...this.#rooms.values()];
    for (const room of rooms) room.cancel(reason);
    await Promise.all(rooms.map((room) => room.settled()));
  }

  /** Shutdown: wait for the joins and leaves in flight (presence, cancels) to finish. */
  async drain(): Promise<void> {
    while (this.#tasks.size > 0) await Promise.allSettled([...this.#tasks]);
    await Promise.all([...this.#rooms.values()].map((room) => room.close()));
  }
}
