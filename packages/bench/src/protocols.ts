/**
 * Finds the five protocol packages at run time: each `packages/<p>/server.ts` exports
 * `createServer()` and each `client.ts` a ClientAdapter class. A package that is missing or
 * broken is reported and skipped, so the harness runs with whichever protocols exist.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type ChatServer, type ChatService, type Config, PROTOCOLS, type Protocol } from '@gtp/core';
import type { AdapterOptions, ClientAdapter } from '@gtp/core/cli';

export const PACKAGES_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export type CreateServer = (options?: { config?: Config; chat?: ChatService }) => Promise<ChatServer>;
/** `options.ca`: the CA of a server over TLS (compare --tls). */
export type CreateAdapter = (target: string, options?: AdapterOptions) => ClientAdapter;

export interface ProtocolModule {
  protocol: Protocol;
  createServer: CreateServer;
  createAdapter: CreateAdapter;
  /** The export name of the adapter class, for messages. */
  adapterName: string;
}

export type LoadResult =
  | { ok: true; module: ProtocolModule }
  | { ok: false; protocol: Protocol; reason: string };

type Constructor = new (target: string, options?: AdapterOptions) => ClientAdapter;

/** The exported class whose prototype has `send` and `createSession`: the ClientAdapter. */
function findAdapter(exports: Record<string, unknown>): [string, Constructor] | undefined {
  for (const [name, value] of Object.entries(exports)) {
    if (typeof value !== 'function') continue;
    const proto = (value as { prototype?: Record<string, unknown> }).prototype;
    if (proto && typeof proto.send === 'function' && typeof proto.createSession === 'function') {
      return [name, value as Constructor];
    }
  }
  return undefined;
}

export async function loadProtocol(protocol: Protocol): Promise<LoadResult> {
  const dir = join(PACKAGES_DIR, protocol);
  const serverFile = join(dir, 'server.ts');
  const clientFile = join(dir, 'client.ts');
  for (const file of [serverFile, clientFile]) {
    if (!existsSync(file))
      return { ok: false, protocol, reason: `packages/${protocol}/${file.slice(dir.length + 1)} is missing` };
  }
  try {
    const server = (await import(pathToFileURL(serverFile).href)) as Record<string, unknown>;
    const client = (await import(pathToFileURL(clientFile).href)) as Record<string, unknown>;
    if (typeof server.createServer !== 'function') {
      return { ok: false, protocol, reason: `packages/${protocol}/server.ts exports no createServer()` };
    }
    const adapter = findAdapter(client);
    if (!adapter)
      return { ok: false, protocol, reason: `packages/${protocol}/client.ts exports no ClientAdapter class` };
    const [adapterName, Adapter] = adapter;
    return {
      ok: true,
      module: {
        protocol,
        createServer: server.createServer as CreateServer,
        createAdapter: (target, options) => new Adapter(target, options),
        adapterName,
      },
    };
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    return { ok: false, protocol, reason: `packages/${protocol} failed to load: ${message}` };
  }
}

/** Parse `--protocols rest,sse`; every name must be one of the five. */
export function parseProtocols(value: string | undefined): Protocol[] {
  if (!value) return [...PROTOCOLS];
  const names = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const name of names) {
    if (!PROTOCOLS.includes(name as Protocol)) {
      throw new Error(`unknown protocol "${name}"; choose from ${PROTOCOLS.join(', ')}`);
    }
  }
  return PROTOCOLS.filter((p) => names.includes(p));
}

export async function loadProtocols(
  protocols: readonly Protocol[],
): Promise<{ modules: ProtocolModule[]; skipped: { protocol: Protocol; reason: string }[] }> {
  const modules: ProtocolModule[] = [];
  const skipped: { protocol: Protocol; reason: string }[] = [];
  for (const protocol of protocols) {
    const result = await loadProtocol(protocol);
    if (result.ok) modules.push(result.module);
    else skipped.push({ protocol: result.protocol, reason: result.reason });
  }
  return { modules, skipped };
}

/** A row of `pnpm compare`: one of the five protocols, or gRPC-Web (the gRPC server's browser listener). */
export type Subject = Protocol | 'grpc-web';
export type SubjectModule = Omit<ProtocolModule, 'protocol'> & { protocol: Subject };

/**
 * gRPC-Web as a row of its own: the gRPC package's server, measured on its gRPC-Web listener
 * (`webUrl`), with packages/grpc/src/web-client.ts (connect-node's gRPC-Web transport).
 */
export async function grpcWebModule(grpc: ProtocolModule): Promise<SubjectModule> {
  const { GrpcWebAdapter } = (await import(
    pathToFileURL(join(PACKAGES_DIR, 'grpc', 'src', 'web-client.ts')).href
  )) as {
    GrpcWebAdapter: new (target: string, options?: { ca?: Buffer | string; token?: string }) => ClientAdapter;
  };
  return {
    protocol: 'grpc-web',
    adapterName: 'GrpcWebAdapter',
    // The CA and token pass through, so compare --tls reaches the TLS listener.
    createAdapter: (target, options) =>
      new GrpcWebAdapter(target, {
        ...(options?.ca ? { ca: options.ca } : {}),
        ...(options?.token ? { token: options.token } : {}),
      }),
    async createServer(options) {
      const server = await grpc.createServer(options);
      const listen = server.listen.bind(server);
      return Object.assign(server, {
        async listen(at: Parameters<ChatServer['listen']>[0]) {
          await listen(at);
          const { webUrl } = server as ChatServer & { webUrl?: string };
          if (!webUrl) throw new Error('the gRPC server has no gRPC-Web listener');
          return webUrl;
        },
      });
    },
  };
}
