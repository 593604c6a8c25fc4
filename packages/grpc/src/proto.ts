/**
 * The gRPC contract as the server and the client load it: proto/genai/chat/v1/chat.proto and grpc.health.v1
 * read by @grpc/proto-loader, typed by the code proto-loader-gen-types wrote into generated/,
 * and service definitions whose (de)serialisers count the bytes on the wire.
 */
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { protoPath as HEALTH_PROTO_PATH } from 'grpc-health-check';
import type { ProtoGrpcType as ChatProto } from '../generated/chat.ts';
import type { ProtoGrpcType as HealthProto } from '../generated/health.ts';

export const CHAT_PROTO_PATH = fileURLToPath(
  new URL('../../../proto/genai/chat/v1/chat.proto', import.meta.url),
);
export { HEALTH_PROTO_PATH };

/** The fully-qualified service name: what health checks and reflection use. */
export const CHAT_SERVICE_NAME = 'genai.chat.v1.ChatService';

/**
 * The loader options the generated types were made with (package.json "gen" passes the same
 * flags): camelCase fields, 64-bit integers as strings, enums as their names, defaults filled
 * in, and a virtual field naming the member of each oneof that is set.
 */
export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

/** chat.proto and health.proto in one definition: the server registers both and reflects both. */
export const packageDefinition = protoLoader.loadSync([CHAT_PROTO_PATH, HEALTH_PROTO_PATH], LOADER_OPTIONS);
const loaded = grpc.loadPackageDefinition(packageDefinition) as unknown as ChatProto & HealthProto;

/** The typed client constructor and service definition of genai.chat.v1.ChatService. */
export const ChatServiceClient = loaded.genai.chat.v1.ChatService;
/** The typed client constructor of grpc.health.v1.Health. */
export const HealthClient = loaded.grpc.health.v1.Health;

/** Message sizes on the wire: the protobuf payload plus gRPC's 5-byte length prefix. */
const GRPC_FRAME_PREFIX_BYTES = 5;

/**
 * The service definition with (de)serialisers that also count bytes: each message's size is
 * known the moment it is encoded or decoded, so counting costs no second serialisation.
 */
export function countingService(
  service: grpc.ServiceDefinition,
  counter: { addBytesReceived(bytes: number): void; addBytesSent(bytes: number): void },
): grpc.ServiceDefinition {
  return Object.fromEntries(
    Object.entries(service).map(([name, method]) => [
      name,
      // The same scope as the HTTP servers: the API's bytes, not the stats call's.
      name === 'GetServerStats'
        ? method
        : {
            ...method,
            requestDeserialize: (bytes: Buffer) => {
              counter.addBytesReceived(bytes.length + GRPC_FRAME_PREFIX_BYTES);
              return method.requestDeserialize(bytes);
            },
            responseSerialize: (value: unknown) => {
              const bytes = method.responseSerialize(value);
              counter.addBytesSent(bytes.length + GRPC_FRAME_PREFIX_BYTES);
              return bytes;
            },
          },
    ]),
  );
}
