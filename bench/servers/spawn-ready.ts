import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

/**
 * Start `node --import tsx <script> <args>` (`o.node`: another Node binary; `o.nodeArgs`: flags before the
 * script, e.g. --cpu-prof) and resolve with its URL once it prints `READY <url>` (the
 * convention of the servers in this folder); reject if it exits first or stays silent for 30 s.
 */
export function spawnReady(script: string, args: string[], o: { node?: string; nodeArgs?: string[] } = {}): Promise<{ child: ChildProcess; url: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(o.node ?? process.execPath, [...(o.nodeArgs ?? []), '--import', 'tsx', script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
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

/** CPU time (user + system) a live process has used so far, in µs (Linux /proc; clock ticks of 10 ms). */
export function cpuMicros(pid: number): number {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * 10_000;
}
