import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

/**
 * A PostgreSQL cluster of the test's own (initdb + pg_ctl from the server packages), so that a
 * test can stop it hard and start it again without touching the suite's shared server.
 */
export interface PrivatePostgres {
  /** postgres://postgres@127.0.0.1:<port>/postgres, trust auth. */
  url: string;
  /** `pg_ctl stop -m <mode>`: `immediate` is a crash (no checkpoint, every backend killed at once). */
  stop(mode: 'immediate' | 'fast'): void;
  start(): void;
  /** Stops the cluster if it runs and removes its files. */
  destroy(): void;
}

/** `/usr/lib/postgresql/<version>/bin` of the newest installed server, or undefined without one. */
export function postgresServerBin(): string | undefined {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return undefined;
  const versions = readdirSync(base)
    .filter((v) => /^\d+$/.test(v) && existsSync(join(base, v, 'bin', 'initdb')) && existsSync(join(base, v, 'bin', 'pg_ctl')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : join(base, versions[0], 'bin');
}

/** initdb and pg_ctl refuse to run as root: as root, they run as the `postgres` user. */
function runAsOwner(command: string, args: string[]): void {
  const asRoot = userInfo().uid === 0;
  const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args];
  // stdio ignored: pg_ctl start leaves the server running, and a pipe it inherited would stay open.
  execFileSync(file, argv, { stdio: 'ignore', timeout: 60_000 });
}

export function createPrivatePostgres(bin: string, port: number): PrivatePostgres {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-pg-'));
  if (userInfo().uid === 0) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    chownSync(dir, uid, gid);
  }
  const data = join(dir, 'data');
  runAsOwner(join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  // Its own socket folder and port; no fsync (a crash of this server, not of the machine, is what is tried).
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off`;
  const pgCtl = (...args: string[]) => runAsOwner(join(bin, 'pg_ctl'), ['-D', data, ...args]);
  const start = () => pgCtl('start', '-w', '-t', '30', '-l', join(dir, 'server.log'), '-o', options);
  let running = false;
  start();
  running = true;
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop(mode) {
      pgCtl('stop', '-w', '-m', mode);
      running = false;
    },
    start() {
      start();
      running = true;
    },
    destroy() {
      if (running) {
        try {
          pgCtl('stop', '-w', '-m', 'immediate');
        } catch {
          // Already gone: nothing to stop.
        }
        running = false;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
