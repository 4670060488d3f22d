import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import { readFileSync } from 'node:fs';

/**
 * Start `node --import tsx <script> <args>` (`o.node`: another Node binary; `o.nodeArgs`: flags before the
 * script, e.g. --cpu-prof; `o.cpu`: run it on that CPU only, through taskset) and resolve with its URL once it
 * prints `READY <url>` (the convention of the servers in this folder); reject if it exits first or stays silent
 * for 30 s.
 */
export function spawnReady(script: string, args: string[], o: { node?: string; nodeArgs?: string[]; cpu?: number } = {}): Promise<{ child: ChildProcess; url: string }> {
  return new Promise((resolve, reject) => {
    const argv = [o.node ?? process.execPath, ...(o.nodeArgs ?? []), '--import', 'tsx', script, ...args];
    // taskset execs the command: the child's pid is Node's own (its /proc counters are the server's)
    const child = o.cpu === undefined ? spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] }) : spawn('taskset', ['-c', String(o.cpu), ...argv], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${script} ${args.join(' ')}: did not start in 30 s`)), 30_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /READY (\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1]! });
      }
    });
    child.once('exit', (code) => reject(new Error(`${script} ${args.join(' ')}: exited with ${code}`)));
  });
}

/** SIGTERM the child and wait for it to exit. */
export function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((r) => {
    child.removeAllListeners('exit');
    child.once('exit', () => r());
    child.kill('SIGTERM');
  });
}

/** CPU time a live process has used so far in user and system mode, in µs (Linux /proc; clock ticks of 10 ms). */
export function cpuTimes(pid: number): { user: number; sys: number } {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' '); // after the command name, which may hold ") "
  return { user: Number(f[11]) * 10_000, sys: Number(f[12]) * 10_000 };
}

/** CPU time (user + system) a live process has used so far, in µs. */
export function cpuMicros(pid: number): number {
  const t = cpuTimes(pid);
  return t.user + t.sys;
}

/**
 * CPUs for a benchmark that measures one server's CPU per request: the server alone on the last CPU, this
 * process (load generator; all its threads) and every helper on the others. On a shared 2-core machine an
 * unpinned server's CPU per update moved by 70 % between identical runs (cross-CPU wake-ups, migrations and
 * caches shared with the load generator); pinned, by 3 %. `null` (no pinning) with one CPU or without taskset.
 */
export function pinCpus(): { server: number; others: string } | null {
  const n = os.cpus().length;
  if (n < 2 || spawnSync('taskset', ['-V']).error) return null;
  const others = n === 2 ? '0' : `0-${n - 2}`;
  execFileSync('taskset', ['-a', '-p', '-c', others, String(process.pid)], { stdio: 'ignore' });
  return { server: n - 1, others };
}
