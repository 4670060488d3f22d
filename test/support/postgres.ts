import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { freePort, waitForPort } from './ports';

export interface PostgresServer {
  port: number;
  /** Connection URL for a database (default `postgres`). */
  url(db?: string): string;
  /** Run SQL in a database. */
  sql(text: string, db?: string): Promise<void>;
  createDatabase(name: string): Promise<string>;
  stop(): Promise<void>;
}

/** The newest installed PostgreSQL server binaries (Debian: /usr/lib/postgresql/<v>/bin). */
export function findPgBin(): string | null {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return null;
  for (const v of readdirSync(base).sort((a, b) => Number(b) - Number(a))) {
    if (existsSync(join(base, v, 'bin', 'initdb'))) return join(base, v, 'bin');
  }
  return null;
}

/**
 * Start a real, throw-away PostgreSQL server: initdb into a temp dir, `postgres` on 127.0.0.1 on a free
 * port (trust auth, user `postgres`, no fsync). PostgreSQL refuses to run as root, so as root the data
 * dir is given to the `postgres` OS user and the server runs through `runuser`. Fails loudly, with the
 * command to run, when the server is not installed.
 */
export async function startPostgres(): Promise<PostgresServer> {
  const bin = findPgBin();
  if (!bin) throw new Error('PostgreSQL is not installed: run `apt-get install -y postgresql` (or `npm test`, whose pretest installs it)');
  const root = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), 'mm-pg-'));
  const data = join(dir, 'data');
  const asUser = (cmd: string, args: string[]): [string, string[]] => (root ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args]);
  if (root) {
    const ids = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    const gids = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
    if (ids.status !== 0) throw new Error('running as root but there is no `postgres` OS user to run the server as (the postgresql package creates it)');
    chownSync(dir, Number(ids.stdout.trim()), Number(gids.stdout.trim()));
  }
  const [initCmd, initArgs] = asUser(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
  const init = spawnSync(initCmd, initArgs, { encoding: 'utf8' });
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr || init.stdout}`);
  const port = await freePort();
  const [cmd, args] = asUser(join(bin, 'postgres'), [
    '-D', data, '-k', dir, '-p', String(port),
    '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off',
  ]);
  const child: ChildProcess = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (b: Buffer) => (log = (log + b.toString()).slice(-4000)));
  const url = (db = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${db}`;
  try {
    await waitForPort(port, 20_000);
    await ready(url());
  } catch (e) {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`PostgreSQL did not start: ${(e as Error).message}\n${log}`);
  }
  const sql = async (text: string, db?: string) => {
    const c = new Client({ connectionString: url(db) });
    await c.connect();
    try {
      await c.query(text);
    } finally {
      await c.end();
    }
  };
  return {
    port,
    url,
    sql,
    createDatabase: async (name) => {
      await sql(`CREATE DATABASE "${name}"`);
      return url(name);
    },
    stop: async () => {
      // the postmaster's pid (runuser may sit between us and it): SIGINT = fast shutdown
      const pidFile = join(data, 'postmaster.pid');
      const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').split('\n')[0]) : child.pid;
      if (pid) {
        try {
          process.kill(pid, 'SIGINT');
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e; // ESRCH: already gone
        }
      }
      if (child.exitCode === null) await new Promise<void>((resolve) => child.once('exit', () => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function ready(url: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const c = new Client({ connectionString: url });
    try {
      await c.connect();
      await c.query('select 1');
      await c.end();
      return;
    } catch (e) {
      await c.end().catch(() => undefined);
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
