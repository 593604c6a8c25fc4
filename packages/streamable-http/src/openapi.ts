/**
 * The OpenAPI description of the two NDJSON routes (served at /openapi.json and /docs); the routes
 * themselves are in server.ts.
 */

import { RESUME_GRACE_MS } from '@gtp/core';
import {
  ChatEventSchema,
  ErrorResponseSchema,
  MessageBodySchema,
  SessionParamsSchema,
  sessionErrors,
} from '@gtp/core/http';
import { z } from 'zod';

export const DESCRIPTION = `The Streamable HTTP server of genai-transports: one POST whose answer streams.

\`POST /sessions/{id}/messages\` answers \`application/x-ndjson\`: one ChatEvent per line
(\`start\`, \`delta\`…, then \`done\` or \`error\`), each written as the model produces it.
Errors found before the stream starts are \`{"error": {"code", "message"}}\` with their HTTP status;
a failure after it started is a final \`error\` line. Every line carries \`seq\`: a dropped client
resumes with \`GET /sessions/{id}/replies/{messageId}?after={seq}\`. A reply nobody reads or resumes
for ${RESUME_GRACE_MS / 1000} s after a disconnect is cancelled; \`POST /sessions/{id}/cancel\` stops it at once.`;

/** `POST /sessions/:id/messages`: send a message, the reply streams back. */
export const messageRouteSchema = {
  tags: ['chat'],
  summary: 'Send a message; the reply streams back as NDJSON, one ChatEvent per line',
  description:
    'The answer is `application/x-ndjson`: `start`, one `delta` per chunk of text, then `done` ' +
    '(finishReason stop | max_tokens | cancelled) or `error`. Each line is flushed as the model ' +
    'produces it. One reply at a time per session (409 session_busy). Closing the connection is ' +
    `not a Stop (it may be a dropped network): the reply waits ${RESUME_GRACE_MS / 1000} s for a resume, ` +
    'then is cancelled. POST /sessions/{id}/cancel stops it at once; the partial reply is kept in ' +
    'the history, marked interrupted.',
  params: SessionParamsSchema,
  body: MessageBodySchema,
  response: {
    200: {
      description: 'The reply as a stream of lines; each line is one ChatEvent',
      content: { 'application/x-ndjson': { schema: ChatEventSchema } },
    },
    400: ErrorResponseSchema.describe('invalid_request: malformed JSON, a wrong type, a blank text'),
    404: ErrorResponseSchema.describe('session_not_found: no session with this id'),
    409: ErrorResponseSchema.describe('session_busy: the session is already replying'),
    413: ErrorResponseSchema.describe('payload_too_large: over MAX_MESSAGE_CHARS or BODY_LIMIT_BYTES'),
    429: ErrorResponseSchema.describe(
      'rate_limited: RATE_LIMIT_MAX requests per window or MAX_CONCURRENT_STREAMS replies in flight (see retry-after)',
    ),
    500: ErrorResponseSchema.describe('internal: an unexpected failure'),
  },
};

/** `GET /sessions/:id/replies/:messageId`: resume a reply after a seq. */
export const resumeRouteSchema = {
  tags: ['chat'],
  summary: 'Resume a reply: its events after a seq, as NDJSON, live to the end',
  description:
    'For a client whose POST stream dropped: the lines of reply `messageId` after `after` (or ' +
    '`Last-Event-ID`), each with its `seq`, then live until `done`/`error`. When the log no longer ' +
    'holds that point, the first line is `{"type":"reset","reason","replaying"}`: with replaying ' +
    'true the reply follows from its `start`; with false it is over, read it from the history.',
  params: SessionParamsSchema.extend({ messageId: SessionParamsSchema.shape.id }),
  response: {
    200: {
      description: 'The rest of the reply, one line per event',
      content: { 'application/x-ndjson': { schema: ChatEventSchema } },
    },
    ...sessionErrors,
  },
};

/** `POST /sessions/:id/cancel`: the Stop (closing the stream is not one). */
export const cancelRouteSchema = {
  tags: ['chat'],
  summary: 'Stop the reply in flight (its stream ends with done, finishReason "cancelled")',
  description:
    'What Ctrl+C in the client and Stop in the demo send, since a closed connection only starts the ' +
    'resume grace. 204: the reply has stopped (or none was running); the session takes the next ' +
    'message at once. 202: it runs on another instance (REDIS_URL), which was told to stop it.',
  params: SessionParamsSchema,
  response: {
    202: z.object({ cancelled: z.literal(true) }).describe('told the instance running the reply to stop it'),
    204: z.null().describe('stopped, or nothing was running'),
    ...sessionErrors,
  },
};
