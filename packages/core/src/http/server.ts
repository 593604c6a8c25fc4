import type { ChatService } from '../chat-service.ts';
import type { Protocol } from '../constants.ts';
import { DEFAULT_HOST } from '../constants.ts';
import type { ChatServer } from '../runtime.ts';
import type { HttpApp } from './plugin.ts';

/**
 * Wrap a Fastify app as a ChatServer. `close()` cancels the replies in flight first (so their
 * streams end with a final event), then lets Fastify stop accepting and close.
 */
export function httpChatServer(protocol: Protocol, app: HttpApp, chat: ChatService): ChatServer {
  let closing: Promise<void> | undefined;
  return {
    protocol,
    chat,
    async listen({ port = 0, host = DEFAULT_HOST } = {}) {
      await app.listen({ port, host });
      const address = app.server.address();
      const actualPort = typeof address === 'object' && address ? address.port : port;
      const shownHost = host.includes(':') ? `[${host}]` : host;
      return `http://${shownHost}:${actualPort}`;
    },
    close() {
      closing ??= (async () => {
        chat.cancelAll();
        await app.close();
      })();
      return closing;
    },
  };
}
