import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { freePort, waitForPort } from './ports';

export interface RedisServer {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/**
 * Start a real redis-server on 127.0.0.1 on a free port (no persistence). Fails loudly, with the command to
 * run, when redis-server is not installed: tests never skip silently.
 */
export async function startRedis(extraArgs: string[] = []): Promise<RedisServer> {
  if (spawnSync('redis-server', ['--version']).error) {
    throw new Error('redis-server is not installed: run `apt-get install -y redis-server` (or `npm test`, whose pretest installs it)');
  }
  const port = await freePort();
  const child: ChildProcess = spawn('redis-server', ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no', ...extraArgs], {
    stdio: 'ignore',
  });
  await waitForPort(port);
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
