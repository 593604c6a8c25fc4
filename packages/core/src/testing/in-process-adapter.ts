import type { ChatService } from '../chat-service.ts';
import type { ClientAdapter, Health, SendOptions } from '../cli/types.ts';
import type { ChatEvent, Message, Session } from '../events.ts';
import type { StatsSnapshot } from '../stats.ts';

/**
 * A ClientAdapter that calls a ChatService in the same process, with no transport at all: it
 * tests the shell alone. Counts the JSON size of what it returns as "bytes received".
 */
export class InProcessAdapter implements ClientAdapter {
  readonly protocol = 'rest' as const;
  readonly target = 'in-process';
  readonly docsUrl = 'http://127.0.0.1:1/docs';
  readonly #chat: ChatService;
  #bytes = 0;

  constructor(chat: ChatService) {
    this.#chat = chat;
  }

  #count<T>(value: T): T {
    this.#bytes += Buffer.byteLength(JSON.stringify(value) ?? '');
    return value;
  }

  async health(): Promise<Health> {
    return this.#count({
      status: 'ok',
      protocol: 'in-process',
      model: this.#chat.model.info,
      uptimeSeconds: 0,
    });
  }
  async stats(): Promise<StatsSnapshot> {
    return this.#count(await this.#chat.snapshot());
  }
  async createSession(): Promise<Session> {
    return this.#count(await this.#chat.createSession());
  }
  async getSession(id: string): Promise<Session> {
    return this.#count(await this.#chat.getSession(id));
  }
  async listSessions(): Promise<Session[]> {
    return this.#count((await this.#chat.listSessions()).sessions);
  }
  async deleteSession(id: string): Promise<void> {
    await this.#chat.deleteSession(id);
  }
  async history(id: string): Promise<Message[]> {
    return this.#count(await this.#chat.history(id));
  }
  async clearHistory(id: string): Promise<void> {
    await this.#chat.clearHistory(id);
  }
  async *send(sessionId: string, text: string, options: SendOptions = {}): AsyncIterable<ChatEvent> {
    for await (const event of this.#chat.reply(sessionId, text, options)) yield this.#count(event);
  }
  bytesReceived(): number {
    return this.#bytes;
  }
  async close(): Promise<void> {}
}
