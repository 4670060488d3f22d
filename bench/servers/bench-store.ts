import { spawn, type ChildProcess } from 'node:child_process';
import type { Server } from 'node:http';
import net from 'node:net';
import { stopChild } from './spawn-ready';

/**
 * The tracker store a tracing benchmark runs on (BENCH_TRACING_STORE), and the argument that tells
 * bench/servers/traced-server.ts where it is:
 *
 * - `memory` (default): the tracker's own work per update is smallest, so tracing's share is largest;
 * - `file`: the embedded store on disk (journal and group fsync), what local mode runs;
 * - `dynamodb`: what the Lambda tracker runs, on a dynalite started here (in this process, so its CPU is not
 *   the server's);
 * - `redis`: what the Cloud Run tracker runs, on a redis-server started here.
 */
export const STORE_KINDS = ['memory', 'file', 'dynamodb', 'redis'] as const;
export type StoreKind = (typeof STORE_KINDS)[number];

export function storeKind(): StoreKind {
  const kind = process.env['BENCH_TRACING_STORE'] ?? 'memory';
  if (!(STORE_KINDS as readonly string[]).includes(kind)) throw new Error(`BENCH_TRACING_STORE=${kind}: use one of ${STORE_KINDS.join(', ')}`);
  return kind as StoreKind;
}

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = net.createServer().once('error', reject).listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });

const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    sock.once('connect', () => (sock.destroy(), resolve(true))).once('error', () => resolve(false));
  });

export async function startBenchStore(kind: StoreKind): Promise<{ arg: string; stop: () => Promise<void> }> {
  if (kind === 'memory' || kind === 'file') return { arg: kind, stop: async () => undefined };
  const port = await freePort();
  if (kind === 'dynamodb') {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const dynalite = require('dynalite') as (opts: Record<string, unknown>) => Server;
    const server = dynalite({ createTableMs: 0 }); // the table is ACTIVE at once
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', () => resolve()));
    return { arg: `dynamodb=http://127.0.0.1:${port}`, stop: () => new Promise((r) => server.close(() => r())) };
  }
  const child: ChildProcess = spawn('redis-server', ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const failed = new Promise<never>((_, reject) => child.once('error', (e) => reject(new Error(`redis-server: ${e.message} (apt-get install -y redis-server)`))));
  for (let i = 0; !(await Promise.race([listening(port), failed])); i++) {
    if (i === 100) throw new Error(`redis-server did not listen on ${port} in 5 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { arg: `redis=redis://127.0.0.1:${port}`, stop: () => stopChild(child) };
}
