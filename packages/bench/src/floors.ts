/**
 * The bare-Node floors: the least code that serves the same tokens over each wire, with no
 * framework, no sessions, no validation and no stats. The ratio protocol/floor is what our
 * framework (Fastify, the ChatService, the adapters) costs.
 *
 *   json    node:http, POST /reply → one JSON body          (floor of rest)
 *   ndjson  node:http, POST /reply → NDJSON lines            (floor of streamable-http)
 *   sse     node:http, POST /reply → text/event-stream       (floor of sse)
 *   ws      bare `ws`, a JSON frame per event                (floor of websocket)
 *   grpc    grpc-js, StreamMessage of proto/genai/chat/v1/chat.proto  (floor of grpc)
 *
 * Every HTTP floor also answers GET /health (connection set-up) and GET /idle (an SSE stream
 * that stays open: the idle connection of the sse floor).
 */
import http from 'node:http';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { Protocol } from '@gtp/core';
import { WebSocketServer } from 'ws';
import { benchTokens, parseBenchRequest } from './bench-model.ts';
import { PACKAGES_DIR } from './protocols.ts';

export type FloorKind = 'json' | 'ndjson' | 'sse' | 'ws' | 'grpc';

export const FLOOR_OF: Readonly<Record<Protocol, FloorKind>> = {
  rest: 'json',
  'streamable-http': 'ndjson',
  sse: 'sse',
  websocket: 'ws',
  grpc: 'grpc',
};

export const CHAT_PROTO_PATH = join(PACKAGES_DIR, '..', 'proto', 'genai', 'chat', 'v1', 'chat.proto');
export const PROTO_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

export interface FloorServer {
  kind: FloorKind;
  target: string;
  close(): Promise<void>;
}

const done = (tokens: number) => ({
  type: 'done',
  messageId: 'floor',
  finishReason: 'stop',
  usage: { inputTokens: 2, outputTokens: tokens },
  timings: { ttftMs: 0, totalMs: 0 },
});

async function readBody(req: http.IncomingMessage): Promise<string> {
  let body = '';
  for await (const chunk of req) body += chunk;
  return body;
}

function httpFloor(kind: 'json' | 'ndjson' | 'sse'): http.Server {
  return http.createServer(async (req, res) => {
    if (req.method === 'GET' && req.url === '/health') {
      res.setHeader('content-type', 'application/json').end('{"status":"ok"}');
      return;
    }
    if (req.method === 'GET' && req.url === '/idle') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write(': open\n\n');
      return;
    }
    if (req.method !== 'POST' || req.url !== '/reply') {
      res.statusCode = 404;
      res.end();
      return;
    }
    let request: ReturnType<typeof parseBenchRequest>;
    try {
      request = parseBenchRequest(String((JSON.parse(await readBody(req)) as { text?: unknown }).text));
    } catch {
      res.statusCode = 400;
      res.end();
      return;
    }
    const abort = new AbortController();
    res.on('close', () => abort.abort());
    try {
      if (kind === 'json') {
        let text = '';
        for await (const token of benchTokens(request, abort.signal)) text += token;
        res.setHeader('content-type', 'application/json');
        const { messageId, finishReason, usage, timings } = done(request.tokens);
        res.end(JSON.stringify({ messageId, text, finishReason, usage, timings }));
        return;
      }
      const frame =
        kind === 'ndjson'
          ? (event: object) => `${JSON.stringify(event)}\n`
          : (event: { type: string } & Record<string, unknown>) =>
              `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
      res.writeHead(200, {
        'content-type': kind === 'ndjson' ? 'application/x-ndjson' : 'text/event-stream',
      });
      res.write(frame({ type: 'start', sessionId: 'floor', messageId: 'floor' }));
      // A delta as the servers send it: its text and its place, nothing the start already said.
      let seq = 1;
      for await (const text of benchTokens(request, abort.signal)) {
        seq += 1;
        res.write(
          kind === 'ndjson'
            ? `{"seq":${seq},"type":"delta","text":${JSON.stringify(text)}}\n`
            : `event: delta\nid: ${seq}\ndata: ${JSON.stringify(text)}\n\n`,
        );
      }
      res.end(frame(done(request.tokens)));
    } catch {
      res.destroy();
    }
  });
}

function wsFloor(server: http.Server): WebSocketServer {
  const wss = new WebSocketServer({ server });
  wss.on('connection', (socket) => {
    let abort: AbortController | undefined;
    socket.on('close', () => abort?.abort());
    socket.on('message', async (data) => {
      abort = new AbortController();
      const request = parseBenchRequest(String((JSON.parse(String(data)) as { text?: unknown }).text));
      socket.send(JSON.stringify({ type: 'start', sessionId: 'floor', messageId: 'floor' }));
      let seq = 1;
      try {
        for await (const text of benchTokens(request, abort.signal)) {
          socket.send(JSON.stringify({ seq: ++seq, type: 'delta', text }));
        }
        socket.send(JSON.stringify(done(request.tokens)));
      } catch {
        // The client went away.
      }
    });
  });
  return wss;
}

function listen(server: http.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
  });
}

function closeHttp(server: http.Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

export function loadChatProto(): grpc.GrpcObject {
  return grpc.loadPackageDefinition(protoLoader.loadSync(CHAT_PROTO_PATH, PROTO_OPTIONS));
}

type ServiceClass = grpc.ServiceClientConstructor & { service: grpc.ServiceDefinition };

export function chatServiceClass(proto: grpc.GrpcObject): ServiceClass {
  const v1 = (proto.genai as grpc.GrpcObject).chat as grpc.GrpcObject;
  return (v1.v1 as grpc.GrpcObject).ChatService as ServiceClass;
}

async function grpcFloor(): Promise<FloorServer> {
  const server = new grpc.Server();
  const unimplemented = (_call: unknown, callback: grpc.sendUnaryData<unknown>) =>
    callback({ code: grpc.status.UNIMPLEMENTED, details: 'the floor serves StreamMessage only' });
  const service = chatServiceClass(loadChatProto()).service;
  const handlers: grpc.UntypedServiceImplementation = {};
  for (const name of Object.keys(service)) handlers[name] = unimplemented;
  handlers.StreamMessage = async (call: grpc.ServerWritableStream<{ text: string }, unknown>) => {
    const abort = new AbortController();
    call.on('cancelled', () => abort.abort());
    const request = parseBenchRequest(call.request.text);
    call.write({ start: { sessionId: 'floor', messageId: 'floor' } });
    try {
      for await (const text of benchTokens(request, abort.signal)) {
        call.write({ delta: { text } });
      }
      call.write({
        done: {
          messageId: 'floor',
          finishReason: 'FINISH_REASON_STOP',
          usage: { inputTokens: 2, outputTokens: request.tokens },
          timings: { ttftMs: 0, totalMs: 0 },
        },
      });
      call.end();
    } catch {
      // Cancelled by the client.
    }
  };
  server.addService(service, handlers);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, p) =>
      error ? reject(error) : resolve(p),
    ),
  );
  return {
    kind: 'grpc',
    target: `127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => server.tryShutdown(() => resolve())).then(() => server.forceShutdown()),
  };
}

export async function startFloor(kind: FloorKind): Promise<FloorServer> {
  if (kind === 'grpc') return grpcFloor();
  if (kind === 'ws') {
    const server = http.createServer((_req, res) =>
      res.setHeader('content-type', 'application/json').end('{}'),
    );
    const wss = wsFloor(server);
    const port = await listen(server);
    return {
      kind,
      target: `http://127.0.0.1:${port}`,
      close: async () => {
        for (const client of wss.clients) client.terminate();
        wss.close();
        await closeHttp(server);
      },
    };
  }
  const server = httpFloor(kind);
  server.keepAliveTimeout = 120_000;
  const port = await listen(server);
  return { kind, target: `http://127.0.0.1:${port}`, close: () => closeHttp(server) };
}
