/**
 * The WebSocket protocol as an AsyncAPI 3 document (`GET /asyncapi.json`), generated from the
 * zod frame schemas of protocol.ts with zod's `z.toJSONSchema`, so the document, the validation
 * and the TypeScript types cannot say different things. The document describes this server:
 * it receives the client frames and sends the server frames, all on one channel, `GET /ws`.
 */
import { z } from 'zod';
import { ClientFrameSchema, ServerFrameSchema, WS_PATH, WS_SUBPROTOCOL } from './protocol.ts';

export const ASYNCAPI_VERSION = '3.1.0';

/** Where the document says the server is: the host (with port) a client reached it at. */
export interface AsyncApiOptions {
  /** The package version (core's package.json, as in the OpenAPI document). */
  version: string;
  /** `host[:port]` of this server, from the request (its Host header). */
  host: string;
  /** Reached over TLS: `wss`, else `ws`. */
  secure: boolean;
}

type FrameSchema = (typeof ClientFrameSchema.options)[number] | (typeof ServerFrameSchema.options)[number];
type JsonObject = Record<string, unknown>;
/** An AsyncAPI document: its version and the rest as JSON. */
export type AsyncApiDocument = { asyncapi: string } & JsonObject;

/** Client frames that the server answers with one frame (an AsyncAPI operation's `reply`). */
const REPLIES: Readonly<Record<string, string>> = { join: 'joined', ping: 'pong', share: 'shared' };

/** A frame's JSON Schema (draft-07, which AsyncAPI schemas extend), without a `$schema` of its own. */
function payload(schema: FrameSchema, io: 'input' | 'output'): JsonObject {
  const { $schema: _dialect, ...json } = z.toJSONSchema(schema, { target: 'draft-7', io }) as JsonObject;
  return json;
}

/**
 * The message key of a frame: `client.typing`, `server.typing` (the two directions share type
 * names: `typing`; the key keeps them apart, the message `name` is the frame's `type`).
 */
function messageKey(direction: 'client' | 'server', type: string): string {
  return `${direction}.${type}`;
}

function capitalised(text: string): string {
  return text[0]!.toUpperCase() + text.slice(1);
}

/** The AsyncAPI 3 document of the WebSocket protocol. */
export function asyncApiDocument(options: AsyncApiOptions): AsyncApiDocument {
  const frames = [
    ...ClientFrameSchema.options.map((schema) => ({ direction: 'client' as const, schema })),
    ...ServerFrameSchema.options.map((schema) => ({ direction: 'server' as const, schema })),
  ];
  const messages: JsonObject = {};
  const channelMessages: JsonObject = {};
  const operations: JsonObject = {};
  for (const { direction, schema } of frames) {
    const type = schema.shape.type.value;
    const key = messageKey(direction, type);
    messages[key] = {
      name: type,
      title: `${type} (${direction === 'client' ? 'client → server' : 'server → client'})`,
      summary: schema.description,
      contentType: 'application/json',
      payload: payload(schema, direction === 'client' ? 'input' : 'output'),
    };
    channelMessages[key] = { $ref: `#/components/messages/${key}` };
    const reply = direction === 'client' ? REPLIES[type] : undefined;
    operations[`${direction === 'client' ? 'receive' : 'send'}${capitalised(type)}`] = {
      action: direction === 'client' ? 'receive' : 'send',
      channel: { $ref: '#/channels/chat' },
      summary: schema.description,
      messages: [{ $ref: `#/channels/chat/messages/${key}` }],
      ...(reply
        ? {
            reply: {
              channel: { $ref: '#/channels/chat' },
              messages: [{ $ref: `#/channels/chat/messages/${messageKey('server', reply)}` }],
            },
          }
        : {}),
    };
  }

  return {
    asyncapi: ASYNCAPI_VERSION,
    info: {
      title: 'genai-transports: websocket',
      version: options.version,
      description:
        'One Gemini chat session shared live by several connections: JSON text frames, each an object ' +
        `with a \`type\`, over a WebSocket at ${WS_PATH} (subprotocol \`${WS_SUBPROTOCOL}\`). A bad frame is ` +
        'answered with an `error` frame on a connection that stays open. Close codes: 1001 shutting down, ' +
        '1008 over the frame rate after being told, 1009 a frame too large, 1013 a slow consumer (reconnect). ' +
        'Sessions, history, health and metrics are REST routes on the same port: see /docs.',
      externalDocs: {
        description: 'The OpenAPI document of the HTTP routes',
        url: `${options.secure ? 'https' : 'http'}://${options.host}/openapi.json`,
      },
    },
    defaultContentType: 'application/json',
    servers: {
      self: {
        host: options.host,
        protocol: options.secure ? 'wss' : 'ws',
        description: 'This server (the host the document was requested from)',
        security: [
          { $ref: '#/components/securitySchemes/bearerToken' },
          { $ref: '#/components/securitySchemes/accessTokenQuery' },
          { $ref: '#/components/securitySchemes/bearerSubprotocol' },
        ],
      },
    },
    channels: {
      chat: {
        address: WS_PATH,
        title: 'The chat connection',
        description:
          'One connection joins one session at a time; every member receives the reply stream, whoever asked.',
        messages: channelMessages,
        bindings: {
          ws: {
            bindingVersion: '0.1.0',
            method: 'GET',
            query: {
              type: 'object',
              properties: {
                access_token: {
                  type: 'string',
                  description: 'AUTH_TOKEN or a JWT, for clients that cannot set headers',
                },
              },
            },
          },
        },
      },
    },
    operations,
    components: {
      messages,
      securitySchemes: {
        bearerToken: {
          type: 'http',
          scheme: 'bearer',
          description:
            'AUTH_TOKEN or a JWT (JWT_SECRET / JWT_JWKS_URL; its sub is the principal): `Authorization: Bearer <token>` on the upgrade',
        },
        accessTokenQuery: {
          type: 'httpApiKey',
          in: 'query',
          name: 'access_token',
          description: 'The same token or JWT as `?access_token=` on the upgrade URL',
        },
        bearerSubprotocol: {
          type: 'httpApiKey',
          in: 'header',
          name: 'Sec-WebSocket-Protocol',
          description: `A browser's way: offer the subprotocols \`${WS_SUBPROTOCOL}\` and \`bearer.<token>\`; the server answers with \`${WS_SUBPROTOCOL}\` and never echoes the token`,
        },
      },
    },
  };
}
