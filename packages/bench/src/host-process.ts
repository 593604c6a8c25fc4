/** The parent's side of server-host.ts: fork it, wait for its addresses, sample its memory and CPU. */
import { type ChildProcess, fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type Pin, pinToCore } from './pinning.ts';
import type { HostOptions, HostPopulated, HostReady, HostRequest, HostSample } from './server-host.ts';

const HOST_SCRIPT = fileURLToPath(new URL('./server-host.ts', import.meta.url));
const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
export const HOST_START_TIMEOUT_MS = 30_000;
const SAMPLE_TIMEOUT_MS = 10_000;
const POPULATE_TIMEOUT_MS = 300_000;

export class HostProcess {
  readonly #child: ChildProcess;
  readonly ready: Promise<HostReady>;
  readonly #pending = new Map<number, (answer: HostSample | HostPopulated) => void>();
  #nextId = 1;

  constructor(options: HostOptions) {
    this.#child = fork(HOST_SCRIPT, [JSON.stringify(options)], {
      execArgv: ['--import', TSX_LOADER, '--expose-gc'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.ready = new Promise<HostReady>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error('the server host did not start in time')),
        HOST_START_TIMEOUT_MS,
      );
      this.#child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the server host exited with code ${code}`));
      });
      this.#child.on('message', (message: HostReady | HostSample | HostPopulated) => {
        if (message.type === 'ready') {
          clearTimeout(timer);
          resolve(message);
        } else {
          this.#pending.get(message.id)?.(message);
          this.#pending.delete(message.id);
        }
      });
    });
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** Pin the host (every thread) to one core; call after `ready`. */
  pin(core: number): Promise<Pin> {
    const pid = this.#child.pid;
    if (pid === undefined)
      return Promise.resolve({
        pid: -1,
        requestedCore: core,
        allowedCpus: null,
        ok: false,
        error: 'no host process',
      });
    return pinToCore(pid, core);
  }

  /** The host's RSS, heap and CPU time; with `gc`, after a full collection (the host runs with --expose-gc). */
  sample(gc = false): Promise<HostSample> {
    return this.#ask<HostSample>((id) => ({ type: 'sample', id, gc }), SAMPLE_TIMEOUT_MS);
  }

  /** Have the host store `sessions` sessions of `turns` turns each in a ChatService of its own. */
  populate(sessions: number, turns: number): Promise<HostPopulated> {
    return this.#ask<HostPopulated>((id) => ({ type: 'populate', id, sessions, turns }), POPULATE_TIMEOUT_MS);
  }

  #ask<T extends HostSample | HostPopulated>(
    request: (id: number) => HostRequest,
    timeoutMs: number,
  ): Promise<T> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the server host did not answer in time')), timeoutMs);
      this.#pending.set(id, (answer) => {
        clearTimeout(timer);
        resolve(answer as T);
      });
      this.#child.send(request(id));
    });
  }

  async stop(): Promise<void> {
    if (this.#child.exitCode !== null || !this.#child.connected) return;
    const exited = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()));
    this.#child.send({ type: 'stop' } satisfies HostRequest);
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 8_000);
    await exited;
    clearTimeout(timer);
  }
}
