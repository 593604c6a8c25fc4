/**
 * CPU pinning with `taskset` (util-linux): the server process on one core, the load generator on
 * another, so that a result says what one server core sustains instead of how the two processes
 * shared the machine. Every thread of the process is pinned (`-a`), and what the kernel then
 * allows is read back from /proc/<pid>/status, so a pin that silently did not take is reported as
 * failed. Results measured without both pins are marked not comparable.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const TASKSET = '/usr/bin/taskset';
const TASKSET_TIMEOUT_MS = 5_000;

export interface Pin {
  pid: number;
  /** The core asked for. */
  requestedCore: number;
  /** What /proc/<pid>/status says the process may run on afterwards (e.g. "1"), or null. */
  allowedCpus: string | null;
  ok: boolean;
  error?: string;
}

export interface Pinning {
  /** The server host process. */
  server: Pin | null;
  /** This process: the load generator. */
  loadGenerator: Pin | null;
  /** Both pinned, to different cores: only then are capacity and CPU figures comparable. */
  comparable: boolean;
  note: string;
}

/** The CPUs a process may run on, as the kernel lists them ("0-1", "1"). */
export async function allowedCpus(pid: number): Promise<string | null> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    return /^Cpus_allowed_list:\s*(\S+)/m.exec(status)?.[1] ?? null;
  } catch {
    return null;
  }
}

/** Pin every thread of `pid` to one core; reads back what took. */
export async function pinToCore(pid: number, core: number): Promise<Pin> {
  try {
    await run(TASKSET, ['-a', '-p', '-c', String(core), String(pid)], { timeout: TASKSET_TIMEOUT_MS });
  } catch (error) {
    return {
      pid,
      requestedCore: core,
      allowedCpus: await allowedCpus(pid),
      ok: false,
      error: (error as Error).message.split('\n')[0],
    };
  }
  const allowed = await allowedCpus(pid);
  return {
    pid,
    requestedCore: core,
    allowedCpus: allowed,
    ok: allowed === String(core),
    ...(allowed === String(core) ? {} : { error: `the kernel allows CPUs ${allowed}, not ${core}` }),
  };
}

/** Set a process's CPUs back (a list such as "0-1"), e.g. the load generator's after the run. */
export async function restoreCpus(pid: number, cpus: string): Promise<void> {
  await run(TASKSET, ['-a', '-p', '-c', cpus, String(pid)], { timeout: TASKSET_TIMEOUT_MS }).catch(
    () => undefined,
  );
}

/** The cores to use: the server on the last core, the load generator on the first. */
export function pinningPlan(): { serverCore: number; loadCore: number } | null {
  const cores = os.availableParallelism?.() ?? os.cpus().length;
  return cores >= 2 ? { serverCore: 1, loadCore: 0 } : null;
}

export function describePinning(server: Pin | null, loadGenerator: Pin | null): Pinning {
  const comparable =
    server?.ok === true && loadGenerator?.ok === true && server.requestedCore !== loadGenerator.requestedCore;
  const what = (pin: Pin | null, name: string) =>
    !pin ? `${name}: not pinned` : pin.ok ? `${name} on CPU ${pin.allowedCpus}` : `${name}: ${pin.error}`;
  return {
    server,
    loadGenerator,
    comparable,
    note: `${what(server, 'server')}; ${what(loadGenerator, 'load generator')}${comparable ? '' : ' — NOT comparable'}`,
  };
}
