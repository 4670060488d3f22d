import { spawn } from 'node:child_process';
import { resolve } from 'node:path';

export const BIN = resolve(__dirname, '../../bin/migration-monitor.js');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run the real CLI (bin/migration-monitor.js) in a child process, without a tracker URL from the outer environment. */
export function runCli(args: string[], opts: { cwd?: string; env?: Record<string, string | undefined>; onStart?: (child: ReturnType<typeof spawn>) => void } = {}): Promise<CliRun> {
  return new Promise((res, rej) => {
    const env: Record<string, string | undefined> = { ...process.env, MIGRATION_MONITOR_URL: undefined, ...opts.env };
    const child = spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd, env: env as NodeJS.ProcessEnv });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', rej);
    child.on('close', (code) => res({ code, stdout, stderr }));
    opts.onStart?.(child);
  });
}
