import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { bundleHandler } from '../../lib/constructs/gcp/bundle';
import { loadGcpConfig } from '../../stacks/gcp/config';
import { freePort, waitForPort } from './ports';

const REPO = path.join(__dirname, '../..');

export interface RunningCloudRunBundle {
  port: number;
  /** Everything the container printed (stdout and stderr), as it arrives. */
  output: string[];
  stop(): Promise<void>;
}

/**
 * A GCP handler exactly as the stack deploys it: entry, export and adapter from the stack's config for
 * `stackEnv` (prod), bundled by the stack's bundler (esbuild + the Cloud Run entry), run as `node index.js` on
 * $PORT (container mode) with only `env` (plus PATH and PORT).
 */
export async function startCloudRunBundle(handler: 'logIngest' | 'report' | 'validate' | 'searchProxy', name: string, configEnv: NodeJS.ProcessEnv, env: Record<string, string>): Promise<RunningCloudRunBundle> {
  const h = loadGcpConfig('prod', configEnv).handlers[handler];
  const cwd = process.cwd();
  process.chdir(REPO); // entries are relative to the repository, as in `npm run synth:gcp`
  let dir: string;
  try {
    dir = bundleHandler({ entry: h.entry, exportName: h.exportName, adapter: h.adapter, name });
  } finally {
    process.chdir(cwd);
  }
  const port = await freePort();
  const output: string[] = [];
  const child: ChildProcess = spawn(process.execPath, [path.join(dir, 'index.js')], { env: { PATH: process.env['PATH'], PORT: String(port), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d: Buffer) => output.push(d.toString()));
  child.stderr!.on('data', (d: Buffer) => output.push(d.toString()));
  await waitForPort(port, 30_000);
  return {
    port,
    output,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
