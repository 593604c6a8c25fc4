/**
 * A real nginx (Debian's /usr/sbin/nginx) in front of the five servers, started by the harness
 * on loopback with a generated configuration in a temporary prefix directory. Two forms:
 *
 * - `default`: what a plain `proxy_pass` / `grpc_pass` gets: proxy_buffering on, HTTP/1.0 to the
 *   upstream, no Upgrade headers passed, 60 s read time-outs.
 * - `tuned`: the configuration the root README recommends (NGINX_TUNED_LOCATIONS below is the
 *   same text): no buffering and HTTP/1.1 for the streams, the WebSocket upgrade passed, 1 h
 *   read time-outs, gRPC through grpc_pass on an h2c (cleartext HTTP/2) listener.
 *
 * One `server` block per protocol, each on its own port (our servers listen on one port each).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Protocol } from '@gtp/core';

export const NGINX_BINARY = '/usr/sbin/nginx';
export type NginxMode = 'default' | 'tuned';
const START_TIMEOUT_MS = 10_000;

export interface NginxUpstream {
  protocol: Protocol;
  port: number;
}

export interface NginxOptions {
  mode: NginxMode;
  upstreams: NginxUpstream[];
  /** Override every read time-out (proxy_read_timeout, grpc_read_timeout), seconds. */
  readTimeoutSeconds?: number;
}

export function nginxAvailable(): boolean {
  return existsSync(NGINX_BINARY);
}

/** A free loopback port, for nginx's `listen` (nginx cannot be told port 0 and report it back). */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * The locations the root README recommends, per protocol (`$up` is the upstream). The README
 * shows them in one server block on 443 with TLS; here each protocol gets its own cleartext
 * listener. Running it found two gaps in the README's first version, fixed in both places: without
 * `location = /sessions`, nginx answers `POST /sessions` with a 301 to `/sessions/` (a prefix
 * location ending in a slash does that), and without `location /`, /health is nginx's 404.
 */
export const NGINX_TUNED_LOCATIONS = {
  http: `location /sessions/ {                       # SSE and NDJSON: never buffer, allow long streams
      proxy_pass http://$up; proxy_http_version 1.1;
      proxy_buffering off; proxy_read_timeout 1h; gzip off;
      proxy_set_header Host $host; proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }
    location /ws {                              # WebSocket upgrade
      proxy_pass http://$up; proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection "upgrade";
      proxy_set_header Host $host; proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_read_timeout 1h;
    }
    location = /sessions {               # else nginx 301s POST /sessions to /sessions/
      proxy_pass http://$up; proxy_http_version 1.1;
      proxy_set_header Host $host; proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }
    location / {                         # /health and the rest
      proxy_pass http://$up; proxy_http_version 1.1;
      proxy_set_header Host $host; proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }`,
  grpc: `location / { grpc_pass grpc://$up; grpc_read_timeout 1h; }`,
} as const;

const NGINX_DEFAULT_LOCATIONS = {
  http: 'location / { proxy_pass http://$up; }',
  grpc: 'location / { grpc_pass grpc://$up; }',
} as const;

/**
 * The name nginx gives an upstream, which is also the Host it sends when a location does not set
 * one (nginx's default proxy_pass, and grpc_pass's :authority): a server behind it must list it in
 * ALLOWED_HOSTS, as a deployment lists the names its proxy uses.
 */
export function upstreamName(protocol: Protocol): string {
  return `up_${protocol.replace(/-/g, '_')}`;
}

export function nginxConfig(dir: string, options: NginxOptions, listenPorts: Map<Protocol, number>): string {
  const runAsRoot = process.getuid?.() === 0;
  const blocks = options.upstreams.map(({ protocol, port }) => {
    const kind = protocol === 'grpc' ? 'grpc' : 'http';
    const up = upstreamName(protocol);
    let locations: string =
      options.mode === 'tuned' ? NGINX_TUNED_LOCATIONS[kind] : NGINX_DEFAULT_LOCATIONS[kind];
    locations = locations.replaceAll('$up', up);
    let serverLevel = '';
    if (options.readTimeoutSeconds !== undefined) {
      // The time-out under test replaces the configured ones, and applies where none is set.
      const t = `${options.readTimeoutSeconds}s`;
      locations = locations.replace(/(proxy|grpc)_read_timeout [^;]+;/g, `$1_read_timeout ${t};`);
      serverLevel = `proxy_read_timeout ${t}; grpc_read_timeout ${t};\n    `;
    }
    return `  upstream ${up} { server 127.0.0.1:${port}; }
  server {
    listen 127.0.0.1:${listenPorts.get(protocol)}${kind === 'grpc' ? ' http2' : ''};
    ${serverLevel}${locations}
  }`;
  });
  return `# generated by packages/bench/src/nginx.ts (${options.mode})
${runAsRoot ? 'user root root;\n' : ''}worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log ${dir}/access.log;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
${blocks.join('\n')}
}
`;
}

export class Nginx {
  readonly #child: ChildProcess;
  readonly dir: string;
  /** Where each protocol's server is reachable through nginx: http://127.0.0.1:port or 127.0.0.1:port. */
  readonly targets: Map<Protocol, string>;
  readonly mode: NginxMode;

  private constructor(child: ChildProcess, dir: string, targets: Map<Protocol, string>, mode: NginxMode) {
    this.#child = child;
    this.dir = dir;
    this.targets = targets;
    this.mode = mode;
  }

  static async start(options: NginxOptions): Promise<Nginx> {
    if (!nginxAvailable()) throw new Error(`${NGINX_BINARY} is missing (Debian: apt-get install nginx)`);
    const dir = await mkdtemp(join(tmpdir(), 'gtp-nginx-'));
    await mkdir(join(dir, 'logs'));
    const ports = new Map<Protocol, number>();
    for (const u of options.upstreams) ports.set(u.protocol, await freePort());
    const conf = join(dir, 'nginx.conf');
    await writeFile(conf, nginxConfig(dir, options, ports));
    const child = spawn(NGINX_BINARY, ['-p', dir, '-c', conf, '-e', join(dir, 'error.log')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const targets = new Map<Protocol, string>();
    for (const [protocol, port] of ports) {
      targets.set(protocol, protocol === 'grpc' ? `127.0.0.1:${port}` : `http://127.0.0.1:${port}`);
    }
    const nginx = new Nginx(child, dir, targets, options.mode);
    try {
      await waitForPorts([...ports.values()], child, () => stderr);
    } catch (error) {
      await nginx.stop();
      throw error;
    }
    return nginx;
  }

  /** nginx's error log so far (what it said about each 502/504). */
  errorLog(): Promise<string> {
    return readFile(join(this.dir, 'error.log'), 'utf8').catch(() => '');
  }

  async stop(): Promise<void> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) {
      const exited = new Promise((resolve) => this.#child.once('exit', resolve));
      this.#child.kill('SIGTERM'); // fast shutdown: closes connections, as a restart would
      const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(this.dir, { recursive: true, force: true });
  }

  get running(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null;
  }
}

async function waitForPorts(ports: number[], child: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (const port of ports) {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`nginx exited (${child.exitCode}): ${stderr().trim()}`);
      const ok = await new Promise<boolean>((resolve) => {
        const socket = net.connect(port, '127.0.0.1', () => {
          socket.destroy();
          resolve(true);
        });
        socket.once('error', () => resolve(false));
      });
      if (ok) break;
      if (Date.now() > deadline) throw new Error(`nginx did not listen on ${port}: ${stderr().trim()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
