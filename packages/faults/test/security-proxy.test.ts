/**
 * TRUST_PROXY end to end, behind a real nginx (Debian's /usr/sbin/nginx on loopback): two
 * clients at different loopback addresses (127.0.0.2 and 127.0.0.3; Linux routes all of
 * 127.0.0.0/8 to lo) reach the REST server through nginx, which forwards their address in
 * X-Forwarded-For. Only with TRUST_PROXY do they get a budget each; without it they share the
 * proxy's. An X-Forwarded-For written by a client is never believed: not from an untrusted peer
 * that connects directly, and not through the proxy (its own hop is what counts).
 *
 * nginx is started here rather than with @gtp/bench's harness: that one forwards no
 * X-Forwarded-For (a plain proxy_pass does not send it), and what is tested is the header.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, testConfig } from '@gtp/core/testing';
import { Agent, request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { WAIT_MS } from '../src/events.ts';
import { type Running, target } from '../src/targets.ts';

const NGINX_BINARY = '/usr/sbin/nginx';
const MAX = 3;
const TRUSTED = '127.0.0.1'; // nginx connects to the server from here

/** nginx in front of `upstreamPort`, forwarding the client's address and Host. */
class Nginx {
  readonly url: string;
  readonly dir: string;
  readonly child: ChildProcess;

  private constructor(url: string, dir: string, child: ChildProcess) {
    this.url = url;
    this.dir = dir;
    this.child = child;
  }

  static async start(upstreamPort: number): Promise<Nginx> {
    const dir = await mkdtemp(join(tmpdir(), 'gtp-nginx-xff-'));
    const port = await freePort();
    const conf = join(dir, 'nginx.conf');
    await writeFile(
      conf,
      `${process.getuid?.() === 0 ? 'user root root;\n' : ''}worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fcgi;
  uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://127.0.0.1:${upstreamPort};
      proxy_http_version 1.1;
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }
  }
}
`,
    );
    const child = spawn(NGINX_BINARY, ['-p', dir, '-c', conf, '-e', join(dir, 'error.log')], {
      stdio: 'ignore',
    });
    const nginx = new Nginx(`http://127.0.0.1:${port}`, dir, child);
    const deadline = Date.now() + WAIT_MS;
    while (!(await listening(port))) {
      if (child.exitCode !== null || Date.now() > deadline) {
        await nginx.stop();
        throw new Error(`nginx did not listen on ${port}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return nginx;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((resolve) => this.child.once('exit', resolve));
      this.child.kill('SIGTERM');
      await exited;
    }
    await rm(this.dir, { recursive: true, force: true });
  }
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** A client whose connections leave from `localAddress`. */
function clientAt(localAddress: string) {
  const agent = new Agent({ localAddress });
  return {
    async status(base: string, headers: Record<string, string> = {}): Promise<number> {
      const response = await request(`${base}/sessions`, {
        dispatcher: agent,
        headers,
        signal: AbortSignal.timeout(WAIT_MS),
      });
      await response.body.dump();
      return response.statusCode;
    },
    close: () => agent.close(),
  };
}

async function statuses(
  client: ReturnType<typeof clientAt>,
  base: string,
  n: number,
  headers: (i: number) => Record<string, string> = () => ({}),
): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(await client.status(base, headers(i)));
  return out;
}

describe.skipIf(!existsSync(NGINX_BINARY))('TRUST_PROXY behind nginx', () => {
  let run: Running | undefined;
  let nginx: Nginx | undefined;
  const clients: ReturnType<typeof clientAt>[] = [];
  afterEach(async () => {
    await Promise.allSettled(clients.splice(0).map((c) => c.close()));
    await nginx?.stop();
    nginx = undefined;
    await run?.close();
    run = undefined;
  });

  const start = async (trustProxy: string | undefined) => {
    run = await target('rest').start({
      config: testConfig({ rateLimitMax: MAX, rateLimitWindowMs: 60_000, trustProxy }),
    });
    nginx = await Nginx.start(Number(new URL(run.url).port));
    const two = clientAt('127.0.0.2');
    const three = clientAt('127.0.0.3');
    clients.push(two, three);
    return { proxy: nginx.url, direct: run.url, two, three };
  };

  it('without TRUST_PROXY two clients behind the proxy share its one budget', async () => {
    const { proxy, two, three } = await start(undefined);
    expect(await statuses(two, proxy, MAX)).toEqual(Array(MAX).fill(200));
    expect(await statuses(three, proxy, 1)).toEqual([429]);
  });

  it('with TRUST_PROXY each client behind the proxy has a budget of its own', async () => {
    const { proxy, two, three } = await start(TRUSTED);
    expect(await statuses(two, proxy, MAX + 1)).toEqual([...Array(MAX).fill(200), 429]);
    expect(await statuses(three, proxy, MAX + 1)).toEqual([...Array(MAX).fill(200), 429]);
  });

  it('a spoofed X-Forwarded-For is ignored: from an untrusted peer, and through the proxy', async () => {
    const { proxy, direct, two, three } = await start(TRUSTED);
    // 127.0.0.2 connects directly and claims a new address each time: still one budget.
    const spoof = (i: number) => ({ 'x-forwarded-for': `203.0.113.${i + 1}` });
    expect(await statuses(two, direct, MAX + 1, spoof)).toEqual([...Array(MAX).fill(200), 429]);
    // Through nginx the header gets the real hop appended; the server stops at that untrusted hop.
    expect(await statuses(three, proxy, MAX + 1, spoof)).toEqual([...Array(MAX).fill(200), 429]);
  });
});
