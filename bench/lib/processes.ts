import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { readFileSync } from 'node:fs';
import type { Server as NetServer } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A server child process that printed one JSON line when ready. */
export interface Served<T> {
  child: ChildProcess;
  info: T & { port: number };
  url: string;
  /** Resident and peak resident memory, MB (from /proc). */
  memory(): { rssMb: number; peakMb: number };
  /** CPU time the process has used so far (user + system), seconds. */
  cpuSeconds(): number;
  stop(): Promise<void>;
}

/**
 * On a machine with a few cores, where a server runs decides much of its throughput: sharing a
 * core with autocannon one run and not the next moves a figure by tens of percent. So when
 * `taskset` is there, the benchmark process (autocannon) keeps the first core and every server
 * gets the last one: each target is measured under the same split. Returns the split, or
 * undefined when nothing was pinned.
 */
export function pinCores(): { client: number; servers: number } | undefined {
  const cores = availableParallelism();
  if (cores < 2 || spawnSync('taskset', ['-a', '-p', '-c', '0', String(process.pid)], { stdio: 'ignore' }).status !== 0) return undefined;
  serverCore = cores - 1;
  return { client: 0, servers: serverCore };
}
let serverCore: number | undefined;

/** The port a listening server (a Fastify app's `server`) took: what a child announces to `serve`. */
export function listeningPort(server: { address(): ReturnType<NetServer['address']> }): number {
  const address = server.address();
  return typeof address === 'object' && address !== null ? address.port : 0;
}

/** Starts `node --import tsx <script> args` (on the servers' core once pinned) and waits for its first stdout line (JSON). */
export async function serve<T extends object>(script: string, args: string[], env: Record<string, string>): Promise<Served<T>> {
  const command = [process.execPath, '--import', 'tsx', script, ...args];
  if (serverCore !== undefined) command.unshift('taskset', '-c', String(serverCore));
  const child = spawn(command[0]!, command.slice(1), {
    cwd: ROOT,
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr = (stderr + chunk).slice(-4000)));
  const line = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code} before it was ready:\n${stderr}`)));
  });
  const info = JSON.parse(line) as T & { port: number };
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    info,
    url: `http://127.0.0.1:${info.port}`,
    memory: () => procMemory(child.pid!),
    cpuSeconds: () => procCpuSeconds(child.pid!),
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export function procMemory(pid: number): { rssMb: number; peakMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
  return { rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 };
}

/** User + system CPU time of a process and its threads, seconds (from /proc, in clock ticks of 1/100 s). */
export function procCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
