// What a page needs to call ChatService over gRPC-Web, as one module (bundled by src/bundle.ts):
// the lab's gRPC-Web lane imports it from GET /lab/grpc-web.js.
export { Code, ConnectError, createClient } from '@connectrpc/connect';
export { createGrpcWebTransport } from '@connectrpc/connect-web';
export { ChatService, FinishReason, Role } from '../generated/es/genai/chat/v1/chat_pb.js';
