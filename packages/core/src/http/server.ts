import { Server as TlsServer } from 'node:tls';
import type { ChatService } from '../chat-service.ts';
import type { Protocol } from '../constants.ts';
import { DEFAULT_HOST } from '../constants.ts';
import type { ChatServer } from '../runtime.ts';
import type { HttpApp } from './plugin.ts';

/** How long close() waits for cancelled replies to write their final event. */
const DRAIN_TIMEOUT_MS = 2_000;

/**
 * Wrap a Fastify app as a ChatServer. `close()` is the graceful shutdown of all four HTTP
 * servers: cancel every reply in flight, wait until each has ended with its final event
 * (`done` cancelled), then close Fastify: its preClose hooks end the long-lived streams (SSE,
 * WebSocket), and every connection still open — idle keep-alives, a client's spare — is closed.
 */
export function httpChatServer(
  protocol: Protocol,
  app: HttpApp,
  chat: ChatService,
  options: {
    /** The server created the ChatService, so it closes it (store, broker) too. */ ownsChat?: boolean;
  } = {},
): ChatServer {
  let closing: Promise<void> | undefined;
  return {
    protocol,
    chat,
    async listen({ port = 0, host = DEFAULT_HOST } = {}) {
      await app.listen({ port, host });
      const address = app.server.address();
      const actualPort = typeof address === 'object' && address ? address.port : port;
      const shownHost = host.includes(':') ? `[${host}]` : host;
      // With TLS_CERT_FILE the server is node:http2's secure server, a tls.Server.
      const scheme = app.server instanceof TlsServer ? 'https' : 'http';
      return `${scheme}://${shownHost}:${actualPort}`;
    },
    close() {
      closing ??= (async () => {
        chat.cancelAll();
        await chat.whenIdle(DRAIN_TIMEOUT_MS);
        // One more turn of the event loop, so the transports write what the replies yielded last.
        await new Promise((resolve) => setImmediate(resolve));
        await app.close();
        if (options.ownsChat) await chat.close();
      })();
      return closing;
    },
  };
}
