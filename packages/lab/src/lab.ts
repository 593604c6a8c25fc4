/**
 * `pnpm lab`: the five servers, each with its real createServer(), and the race page that sends
 * one prompt over REST, NDJSON, SSE, WebSocket and gRPC-Web at the same instant. The gRPC lane is
 * gRPC-Web (the gRPC server's connect-node listener), not gRPC: a browser cannot speak gRPC.
 *
 * Every lane reaches its server through a @gtp/netem proxy, one per server per network profile
 * (started when a profile is first chosen): `loopback` only relays, the others add latency,
 * bandwidth and stalls. "Drop connection" resets the proxied connections of one lane, so the
 * page shows which transport resumes. The lab's origin is added to each server's ALLOWED_ORIGINS.
 *
 * Run it: `pnpm lab`, then open http://127.0.0.1:8000/lab.
 */
import { readFile } from 'node:fs/promises';
import fastifyHelmet from '@fastify/helmet';
import {
  type ChatServer,
  type Config,
  DEFAULT_HOST,
  DEFAULT_LAB_PORT,
  DEFAULT_PORTS,
  fastifyTlsOptions,
  loadConfig,
  type Protocol,
} from '@gtp/core';
import { securityHeaders, uiRoutes } from '@gtp/core/http';
import { bundleBrowserModule } from '@gtp/grpc/bundle';
import { type GrpcChatServer, createServer as grpcServer } from '@gtp/grpc/server';
import { NetworkProxy, PROFILE_NAMES, PROFILES, type ProfileName, profile } from '@gtp/netem';
import { createServer as restServer } from '@gtp/rest/server';
import { createServer as sseServer } from '@gtp/sse/server';
import { createServer as streamableServer } from '@gtp/streamable-http/server';
import { createServer as websocketServer } from '@gtp/websocket/server';
import Fastify from 'fastify';

/** The lanes a browser can run; `grpc` is gRPC-Web, to the gRPC server's gRPC-Web listener. */
export const BROWSER_LANES = ['rest', 'streamable-http', 'sse', 'websocket', 'grpc'] as const;
export type Lane = (typeof BROWSER_LANES)[number];

const FACTORIES: Readonly<Record<Protocol, (options: { config: Config }) => Promise<ChatServer>>> = {
  rest: restServer,
  'streamable-http': streamableServer,
  sse: sseServer,
  websocket: websocketServer,
  grpc: grpcServer,
};

export interface LabOptions {
  /** The servers' configuration before the lab's origin is added (default: from the environment). */
  config?: Config;
  /** `default`: each server on its DEFAULT_PORTS port; `ephemeral`: port 0 (tests). */
  ports?: 'default' | 'ephemeral';
  /** Where the lab page listens (default DEFAULT_LAB_PORT; 0 for tests). */
  labPort?: number;
  host?: string;
}

export interface Lab {
  /** http://host:port of the lab page. */
  url: string;
  /** Each server's own address (not proxied). */
  addresses: Readonly<Record<Protocol, string>>;
  model: ChatServer['chat']['model']['info'];
  close(): Promise<void>;
}

export async function startLab(options: LabOptions = {}): Promise<Lab> {
  const host = options.host ?? DEFAULT_HOST;
  const base = options.config ?? loadConfig(process.env);
  const labPage = await readFile(new URL('../public/lab.html', import.meta.url), 'utf8');
  // TLS_CERT_FILE + TLS_KEY_FILE: the lab page over HTTPS (HTTP/2) like the five servers.
  const app = Fastify({ forceCloseConnections: true, ...fastifyTlsOptions(base.tls) });
  const scheme = base.tls ? 'https' : 'http';
  // The demos' security headers (core's securityHeaders()): a CSP that runs only this server's own
  // script files, no framing, nosniff, no Referer. The lanes talk to the proxies on other ports of
  // this host, so connect-src lets the page reach any port of it (http(s) and ws(s)), nothing else.
  const hosts = [...new Set([host, 'localhost', '127.0.0.1'])];
  await app.register(
    fastifyHelmet,
    securityHeaders(hosts.flatMap((h) => ['http', 'https', 'ws', 'wss'].map((s) => `${s}://${h}:*`))),
  );
  await app.register(uiRoutes, { title: 'genai-transports lab' });
  app.get('/lab', async (_request, reply) =>
    reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(labPage),
  );
  // The page's script, a file of its own: the CSP above runs no inline script.
  const labScript = await readFile(new URL('../public/lab.js', import.meta.url), 'utf8');
  app.get('/lab.js', async (_request, reply) =>
    reply.type('text/javascript; charset=utf-8').header('cache-control', 'no-cache').send(labScript),
  );
  // The gRPC-Web lane's client: connect-web and the generated protobuf-es code, bundled on first use.
  let grpcWebScript: Promise<string> | undefined;
  app.get('/lab/grpc-web.js', async (_request, reply) => {
    grpcWebScript ??= bundleBrowserModule('grpc-web.js');
    return reply
      .type('text/javascript; charset=utf-8')
      .header('cache-control', 'no-cache')
      .send(await grpcWebScript);
  });

  /** One proxy per lane per network profile, started on first use. */
  const proxies = new Map<string, Promise<NetworkProxy>>();
  const proxyFor = (network: ProfileName, lane: Lane): Promise<NetworkProxy> => {
    const key = `${network}/${lane}`;
    let proxy = proxies.get(key);
    if (!proxy) {
      const started = new NetworkProxy({ target: { host, port: targets[lane] }, profile: profile(network) });
      proxy = started.listen().then(() => started);
      proxies.set(key, proxy);
    }
    return proxy;
  };
  const networkOf = (value: unknown): ProfileName =>
    typeof value === 'string' && (PROFILE_NAMES as string[]).includes(value)
      ? (value as ProfileName)
      : 'loopback';

  app.get('/lab/targets', async (request) => {
    const network = networkOf((request.query as { network?: string }).network);
    const lanes = Object.fromEntries(
      await Promise.all(
        BROWSER_LANES.map(async (lane) => [
          lane,
          `${scheme}://${host}:${(await proxyFor(network, lane)).port}`,
        ]),
      ),
    );
    return {
      network,
      profiles: PROFILE_NAMES.map((name) => ({
        name,
        rttMs: PROFILES[name].rttMs,
        source: PROFILES[name].source,
      })),
      lanes,
      grpc: { address: addresses.grpc },
      model: servers[0]?.chat.model.info,
    };
  });
  app.post('/lab/drop/:lane', async (request, reply) => {
    const lane = (request.params as { lane: string }).lane as Lane;
    if (!BROWSER_LANES.includes(lane))
      return reply.code(404).send({ error: { code: 'not_found', message: `no lane ${lane}` } });
    const proxy = await proxyFor(networkOf((request.query as { network?: string }).network), lane);
    return { lane, cut: proxy.cutAll() };
  });
  app.get('/lab/stats', async (request) => {
    const network = networkOf((request.query as { network?: string }).network);
    return Object.fromEntries(
      await Promise.all(BROWSER_LANES.map(async (lane) => [lane, (await proxyFor(network, lane)).stats()])),
    );
  });

  // The lab listens first: its origin goes into every server's ALLOWED_ORIGINS.
  await app.listen({ port: options.labPort ?? DEFAULT_LAB_PORT, host });
  const labPort = (app.server.address() as { port: number }).port;
  const origins = [`${scheme}://${host}:${labPort}`, `${scheme}://localhost:${labPort}`];

  const servers: ChatServer[] = [];
  const addresses = {} as Record<Protocol, string>;
  const targets = {} as Record<Protocol, number>;
  try {
    for (const protocol of Object.keys(FACTORIES) as Protocol[]) {
      const config: Config = {
        ...base,
        port: undefined,
        allowedOrigins: [...base.allowedOrigins, ...origins],
      };
      const server = await FACTORIES[protocol]({ config });
      servers.push(server);
      addresses[protocol] = await server.listen({
        port: options.ports === 'ephemeral' ? 0 : DEFAULT_PORTS[protocol],
        host,
      });
      targets[protocol] = Number(addresses[protocol].split(':').at(-1));
      // The browser's gRPC lane goes to the gRPC-Web listener, not to grpc-js.
      const webUrl = protocol === 'grpc' ? (server as GrpcChatServer).webUrl : undefined;
      if (webUrl) targets.grpc = Number(new URL(webUrl).port);
    }
  } catch (error) {
    await Promise.allSettled([app.close(), ...servers.map((s) => s.close())]);
    throw error;
  }

  return {
    url: `${scheme}://${host}:${labPort}`,
    addresses,
    model: servers[0]!.chat.model.info,
    async close() {
      await app.close();
      await Promise.allSettled([...proxies.values()].map(async (p) => (await p).close()));
      await Promise.allSettled(servers.map((s) => s.close()));
    },
  };
}
