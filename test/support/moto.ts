import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { freePort, waitForPort } from './ports';

export interface MotoServer {
  /** `http://127.0.0.1:<port>` */
  endpoint: string;
  /** The same as `endpoint`. */
  url: string;
  /** Variables that point the AWS SDK (and the CLI it runs in) at this server. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

/**
 * moto_server (pip `moto[server]`, the AWS API emulator: SNS, SQS, SSM Parameter Store...) on a free port of
 * 127.0.0.1, spoken to by the real SDK. Fails loudly when it is not installed: tests never skip.
 */
export async function startMoto(): Promise<MotoServer> {
  if (spawnSync('moto_server', ['--help']).error) throw new Error('moto_server is not installed: run `pip install "moto[server]"`');
  const port = await freePort();
  const child: ChildProcess = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
  const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`moto_server exited ${code}: ${stderr}`))));
  await Promise.race([waitForPort(port, 30_000), exited]);
  exited.catch(() => undefined);
  const url = `http://127.0.0.1:${port}`;
  return {
    endpoint: url,
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

/** An SQS query-protocol call to moto (moto does not check signatures; the credential scope picks the service). */
async function sqs(endpoint: string, path: string, params: Record<string, string>): Promise<string> {
  const res = await fetch(`${endpoint}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: 'AWS4-HMAC-SHA256 Credential=test/20260101/eu-west-1/sqs/aws4_request, SignedHeaders=host, Signature=0' },
    body: new URLSearchParams({ Version: '2012-11-05', ...params }).toString(),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`moto SQS ${params['Action']}: HTTP ${res.status} ${text.slice(0, 300)}`);
  return text;
}

/** A queue on moto, to subscribe to a topic: what SNS delivers to it keeps the subject, message and attributes. */
export async function motoQueue(endpoint: string, name: string): Promise<{ arn: string; receive(): Promise<Array<Record<string, any>>> }> {
  await sqs(endpoint, '/', { Action: 'CreateQueue', QueueName: name });
  const path = `/123456789012/${name}`;
  return {
    arn: `arn:aws:sqs:eu-west-1:123456789012:${name}`,
    async receive() {
      const xml = await sqs(endpoint, path, { Action: 'ReceiveMessage', MaxNumberOfMessages: '10', VisibilityTimeout: '300' });
      const unescape = (s: string) => s.replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&#39;/g, "'").replace(/&amp;/g, '&');
      return [...xml.matchAll(/<Body>([\s\S]*?)<\/Body>/g)].map((m) => JSON.parse(unescape(m[1]!)) as Record<string, any>);
    },
  };
}
