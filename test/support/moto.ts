import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { freePort, waitForPort } from './ports';

export interface MotoServer {
  url: string;
  /** Variables that point the AWS SDK (and the CLI it runs in) at this server. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

/**
 * moto_server (pip `moto[server]`) on 127.0.0.1 on a free port: a stand-in for AWS APIs such as SSM
 * Parameter Store, spoken to by the real SDK. Fails loudly when it is not installed: tests never skip.
 */
export async function startMoto(): Promise<MotoServer> {
  if (spawnSync('moto_server', ['--help']).error) throw new Error('moto_server is not installed: run `pip install "moto[server]"`');
  const port = await freePort();
  const child: ChildProcess = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  await waitForPort(port, 30_000);
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    env: { AWS_ENDPOINT_URL: url, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_SESSION_TOKEN: '' },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
