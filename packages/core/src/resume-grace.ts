/**
 * The resume grace: a reply whose reader went away before its end does not stop at once. A
 * server cannot tell a client that meant to leave from one whose connection broke (a closed
 * NDJSON response, a CANCELLED gRPC call), so the reply goes on for RESUME_GRACE_MS, and a reader
 * that resumes it (GET …/replies/:messageId, ResumeStream; on any instance, announced on the
 * broker) keeps it going to its end. Nobody resumes in time: the reply is cancelled. A client
 * that means Stop says so (POST …/cancel, CancelReply), which stops it at once.
 */
import type { Broker } from './broker.ts';

/**
 * A reply whose reader went away waits this long for a resume before it is cancelled: a mobile
 * client that drops and reconnects loses nothing, and a client that really left stops costing tokens.
 */
export const RESUME_GRACE_MS = 10_000;

/** The broker channel on which readers say "resumed:<messageId>" / "stopped:<messageId>". */
export const REPLY_READERS_CHANNEL = 'reply-readers';

interface Held {
  cancel: () => void;
  timer: NodeJS.Timeout | undefined;
}

/**
 * The replies of this instance whose first reader went away early, each with its grace timer;
 * resuming readers (anywhere) pause the timer while they read, and re-arm it when the last one
 * goes away too.
 */
export class ResumeGraces {
  readonly #graceMs: number;
  readonly #broker: Broker;
  readonly #held = new Map<string, Held>();
  /** Resuming readers reading a reply now, on any instance, by messageId (counted before a hold too). */
  readonly #readers = new Map<string, number>();
  #unsubscribe: (() => Promise<void>) | undefined;

  private constructor(broker: Broker, graceMs: number) {
    this.#broker = broker;
    this.#graceMs = graceMs;
  }

  /** Graces that hear about resuming readers on every instance sharing `broker`. */
  static async create(broker: Broker, graceMs = RESUME_GRACE_MS): Promise<ResumeGraces> {
    const graces = new ResumeGraces(broker, graceMs);
    graces.#unsubscribe = await broker.subscribe(REPLY_READERS_CHANNEL, (message) => graces.#heard(message));
    return graces;
  }

  /**
   * The reader of reply `messageId` went away before the reply's end: `cancel` it unless a
   * resuming reader reads it within the grace. `finished` settles when the reply has ended.
   */
  hold(messageId: string, finished: Promise<void>, cancel: () => void): void {
    const held: Held = { cancel, timer: undefined };
    this.#held.set(messageId, held);
    if (!this.#readers.has(messageId)) this.#arm(messageId, held);
    // Ended by itself (done, an error, a Stop): nothing left to wait for.
    const release = () => {
      clearTimeout(held.timer);
      if (this.#held.get(messageId) === held) this.#held.delete(messageId);
    };
    finished.then(release, release);
  }

  /** A reader resumes `messageId`: its grace pauses, wherever the reply runs. */
  resumed(messageId: string): Promise<void> {
    return this.#announce(`resumed:${messageId}`);
  }

  /** That reader ended (the reply's end, or it went away too): with no reader left, the grace starts again. */
  stopped(messageId: string): Promise<void> {
    return this.#announce(`stopped:${messageId}`);
  }

  /** Shutdown: no grace outlives the server (it cancels the replies anyway). */
  async close(): Promise<void> {
    for (const held of this.#held.values()) clearTimeout(held.timer);
    this.#held.clear();
    this.#readers.clear();
    await this.#unsubscribe?.().catch(() => undefined);
  }

  async #announce(message: string): Promise<void> {
    // The broker delivers to this instance too; with it away, at least this instance hears.
    await this.#broker.publish(REPLY_READERS_CHANNEL, message).catch(() => this.#heard(message));
  }

  #heard(message: string): void {
    const [what, messageId = ''] = message.split(/:(.*)/s);
    const readers = this.#readers.get(messageId) ?? 0;
    const held = this.#held.get(messageId);
    if (what === 'resumed') {
      this.#readers.set(messageId, readers + 1);
      clearTimeout(held?.timer);
      if (held) held.timer = undefined;
    } else if (what === 'stopped') {
      if (readers > 1) this.#readers.set(messageId, readers - 1);
      else this.#readers.delete(messageId);
      if (held && readers <= 1) this.#arm(messageId, held);
    }
  }

  #arm(messageId: string, held: Held): void {
    clearTimeout(held.timer);
    held.timer = setTimeout(() => {
      if (this.#held.get(messageId) === held) this.#held.delete(messageId);
      held.cancel();
    }, this.#graceMs);
    held.timer.unref();
  }
}
