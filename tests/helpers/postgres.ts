// A real PostgreSQL for tests and benchmarks: Debian's server binaries (`postgresql` package,
// /usr/lib/postgresql/<v>/bin), a cluster made with initdb in a temp directory, started with
// pg_ctl on 127.0.0.1 and a free port, run as an unprivileged user (postgres, when we are root:
// the server refuses to run as root) and removed with everything in it by stop().
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './appliance.js';

export interface TestPostgres {
  /** postgres://lucid@127.0.0.1:<port>/postgres */
  readonly url: string;
  readonly port: number;
  /** The cluster's temp directory (data/, the socket, server.log). */
  readonly dir: string;
  /** A new empty database; returns its URL. */
  createDatabase(name: string): Promise<string>;
  log(): string;
  stop(): Promise<void>;
}

export function postgresBin(): string | null {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return null;
  const versions = readdirSync(base).filter((v) => existsSync(join(base, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(base, versions[0], 'bin') : null;
}

function userIds(name: string): { uid: number; gid: number } | null {
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith(`${name}:`));
  if (!line) return null;
  const f = line.split(':');
  return { uid: Number(f[2]), gid: Number(f[3]) };
}

export interface PostgresOptions {
  /** Durable like production (fsync on). Tests default to off: a crash of the test machine loses nothing we keep. */
  readonly durable?: boolean;
  readonly maxConnections?: number;
  readonly sharedBuffers?: string;
}

export async function startPostgres(options: PostgresOptions = {}): Promise<TestPostgres> {
  const bin = postgresBin();
  if (!bin) throw new Error('PostgreSQL server binaries not found under /usr/lib/postgresql (apt-get install postgresql)');
  // Under /tmp itself, not the test run's TMPDIR: that one is root's 0700, which the server's user cannot enter.
  const dir = mkdtempSync('/tmp/lucid-pg-');
  const asRoot = process.getuid?.() === 0;
  const ids = asRoot ? userIds('postgres') ?? userIds('nobody') : null;
  if (asRoot && !ids) throw new Error('no unprivileged user (postgres or nobody) to run PostgreSQL as');
  if (ids) chownSync(dir, ids.uid, ids.gid);
  const run = (cmd: string, args: string[]): void => {
    const res = spawnSync(join(bin, cmd), args, { encoding: 'utf8', ...(ids ? { uid: ids.uid, gid: ids.gid } : {}), env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', LANG: 'C.UTF-8' } });
    if (res.status !== 0) throw new Error(`${cmd} failed (${res.status}): ${res.stderr}${res.stdout}`);
  };
  const data = join(dir, 'data');
  run('initdb', ['-D', data, '-U', 'lucid', '--auth=trust', '-E', 'UTF8', '--no-sync', '--no-instructions']);
  const port = await freePort();
  const settings = [
    `-p ${port}`, `-k ${dir}`, "-c listen_addresses='127.0.0.1'",
    `-c max_connections=${options.maxConnections ?? 100}`, `-c shared_buffers=${options.sharedBuffers ?? '128MB'}`,
    ...(options.durable ? [] : ['-c fsync=off', '-c synchronous_commit=off', '-c full_page_writes=off']),
  ].join(' ');
  run('pg_ctl', ['-D', data, '-o', settings, '-l', join(dir, 'server.log'), '-w', '-t', '60', 'start']);
  const url = `postgres://lucid@127.0.0.1:${port}/postgres`;
  let stopped = false;
  return {
    url, port, dir,
    async createDatabase(name: string) {
      if (!/^[a-z][a-z0-9_]{0,40}$/.test(name)) throw new Error(`bad database name ${name}`);
      const pg = (await import('pg')).default;
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${name}`);
      } finally {
        await client.end();
      }
      return `postgres://lucid@127.0.0.1:${port}/${name}`;
    },
    log: () => { try { return readFileSync(join(dir, 'server.log'), 'utf8'); } catch { return ''; } },
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        run('pg_ctl', ['-D', data, '-m', 'fast', '-w', '-t', '30', 'stop']);
      } catch {
        // Whatever is left goes with the directory: kill the postmaster by its pid file.
        try {
          const pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
          if (pid > 0) execFileSync('kill', ['-9', String(pid)]);
        } catch { /* gone */ }
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
