/**
 * REST server: one request, one complete answer.
 *
 * What it teaches: the plain request/response baseline. `POST /sessions/:id/messages {text}`
 * runs the whole model turn on the server and answers once, with the complete text. Nothing
 * reaches the client until the last token is written, so time to first token equals total time.
 * Every route (errors included) is described by zod schemas, which validate the request and
 * generate the OpenAPI document served at /openapi.json and as Swagger UI at /docs.
 *
 * Run it:   pnpm serve rest      (http://127.0.0.1:8001, PORT overrides)
 * Try it:   pnpm client rest          or the curl calls in README.md
 */
import {
  abortReason,
  ChatError,
  type ChatReply,
  type ChatServer,
  ChatService,
  type Config,
  isMain,
  loadConfig,
  runMain,
  runServer,
} from '@gtp/core';
import {
  ChatReplySchema,
  createHttpApp,
  ErrorResponseSchema,
  httpChatServer,
  MessageBodySchema,
  SessionParamsSchema,
  sendError,
} from '@gtp/core/http';

export interface RestServerOptions {
  /** Defaults to the environment (`loadConfig()`). */
  config?: Config;
  /** Defaults to a service with the store and model the configuration asks for. */
  chat?: ChatService;
}

const DESCRIPTION = `The REST server of genai-transports: one request, one complete answer.

\`POST /sessions/{id}/messages\` waits for the model to finish and returns the whole reply;
there is no streaming, so the client sees nothing until the last token is written.
Errors are always \`{"error": {"code", "message"}}\` with the HTTP status of the code.`;

export async function createServer(options: RestServerOptions = {}): Promise<ChatServer> {
  const config = options.config ?? loadConfig();
  // With REDIS_URL, sessions (and cancels) are shared with every other instance, whatever its
  // protocol; without it, everything lives in this process. A service we create, we close.
  const ownsChat = !options.chat;
  const chat = options.chat ?? (await ChatService.create(config, 'rest'));

  // Health, stats, sessions, history, /openapi.json and /docs come from core; the chat route is ours.
  const app = await createHttpApp({ protocol: 'rest', config, chat, description: DESCRIPTION });

  app.post(
    '/sessions/:id/messages',
    {
      schema: {
        tags: ['chat'],
        summary: 'Send a message and wait for the complete reply',
        description:
          'Runs one model turn and answers when it is finished. One reply at a time per session: ' +
          'a second message while a reply is running gets 409 session_busy. A client that disconnects ' +
          'before the answer cancels the model; the partial reply is kept in the history, marked interrupted.',
        params: SessionParamsSchema,
        body: MessageBodySchema,
        response: {
          200: ChatReplySchema.describe('The complete reply'),
          400: ErrorResponseSchema.describe('invalid_request: malformed JSON, a wrong type, a blank text'),
          404: ErrorResponseSchema.describe('session_not_found: no session with this id'),
          409: ErrorResponseSchema.describe('session_busy: the session is already replying'),
          413: ErrorResponseSchema.describe('payload_too_large: over MAX_MESSAGE_CHARS or BODY_LIMIT_BYTES'),
          429: ErrorResponseSchema.describe(
            'rate_limited: RATE_LIMIT_MAX requests per window, MAX_CONCURRENT_STREAMS replies in flight, or the model quota (see retry-after)',
          ),
          500: ErrorResponseSchema.describe('internal: an unexpected failure'),
          502: ErrorResponseSchema.describe('model_error: the model failed; the user turn was rolled back'),
        },
      },
      // Its bytes are counted by the shared hook (core/src/http/metrics-route.ts), as on every server.
    },
    async (request, reply) => {
      // Nobody will read an answer whose client has gone: a closed response that never finished
      // means the client disconnected, so stop the model instead of paying for tokens.
      const controller = new AbortController();
      const onClose = () => {
        if (!reply.raw.writableFinished) {
          controller.abort(abortReason('the client disconnected'));
        }
      };
      reply.raw.once('close', onClose);

      try {
        // reply() throws ChatError (400/404/409/413) before its first event; the app's error
        // handler turns that into the status and the `{error}` body. After that, fold the events.
        const events = chat.reply(request.params.id, request.body.text, {
          signal: controller.signal,
          principal: request.access.principal,
        });
        let text = '';
        for await (const event of events) {
          switch (event.type) {
            case 'start':
              break;
            case 'delta':
              text += event.text;
              break;
            case 'done': {
              // `cancelled` here means the server is shutting down (or the client left and will not see it).
              const answer: ChatReply = {
                messageId: event.messageId,
                text,
                finishReason: event.finishReason,
                usage: event.usage,
                timings: event.timings,
              };
              return reply.code(200).send(answer);
            }
            case 'error':
              // The model failed after the turn began; the service rolled the user turn back and
              // counted the error, so answer directly rather than through the error handler.
              return sendError(reply, ChatError.fromBody(event.error));
          }
        }
        throw new ChatError('internal', 'the reply ended without a final event');
      } finally {
        reply.raw.off('close', onClose);
      }
    },
  );

  return httpChatServer('rest', app, chat, { ownsChat });
}

if (isMain(import.meta.url)) {
  runMain(async () => {
    const config = loadConfig();
    await runServer(await createServer({ config }), config);
  });
}
