/**
 * Tracker update throughput and latency over HTTP, embedded store and Redis, each beside a bare HTTP
 * server measured in the same run. Target: ≥ 5,000 updates/s on the embedded store with zero lost updates.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { spawnReady, stopChild } from './servers/spawn-ready';

/**
 * Each measured run lasts a fixed time. Not a request count: autocannon notices that a count is reached only on
 * its 1-second tick, which rounds the run's duration to whole seconds and the throughput with it.
 */
const SECONDS = Number(process.env['BENCH_TRACKER_SECONDS'] ?? 8);
const CONNECTIONS = 50;

interface Result {
  name: string;
  rps: number;
  p50: number;
  p99: number;
  ok: number;
  errors: number;
}

const startServer = (kind: string, arg = '') => spawnReady(path.join(__dirname, 'servers/tracker-server.ts'), [kind, arg]);

async function load(name: string, url: string, body: string, path_ = '/api/migration/progress'): Promise<Result> {
  // warm-up, then the measured run over a fixed time
  await autocannon({ url: url + path_, method: 'POST', body, headers: { 'content-type': 'application/json' }, connections: CONNECTIONS, amount: 2000, timeout: 10 });
  const r = await autocannon({ url: url + path_, method: 'POST', body, headers: { 'content-type': 'application/json' }, connections: CONNECTIONS, duration: SECONDS, timeout: 10 });
  const ok = r['2xx'];
  return { name, rps: ok / (r.duration || 1), p50: r.latency.p50, p99: r.latency.p99, ok: ok + 2000, errors: r.non2xx + r.errors + r.timeouts };
}

async function counted(url: string): Promise<number> {
  const o = (await (await fetch(`${url}/api/migration/progress`)).json()) as { metrics: { successfulOperations: number } };
  return o.metrics.successfulOperations;
}

export async function run(): Promise<void> {
  const body = JSON.stringify({ action: 'update_metrics', increment: { successfulOperations: 1 } });
  const results: Result[] = [];
  const lost: Record<string, number> = {};
  /**
   * Acknowledged updates the store does not hold are lost. The store may hold more than were acknowledged: the
   * requests in flight when the timed run stopped (at most one per connection) were applied, their answers unread.
   */
  const lostOf = (acknowledged: number, held: number) => Math.max(0, acknowledged - held);

  const bare = await startServer('bare');
  results.push(await load('bare HTTP (baseline)', bare.url, body, '/'));
  await stopChild(bare.child);

  /** One embedded-store row: a fresh directory, the server in its own process, lost updates counted. */
  const embedded = async (kind: string, name: string) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mm-bench-'));
    const srv = await startServer(kind, dir);
    const r = await load(name, srv.url, body);
    results.push(r);
    lost[r.name] = lostOf(r.ok, await counted(srv.url));
    await stopChild(srv.child);
    fs.rmSync(dir, { recursive: true, force: true });
    return r;
  };
  // The same store with the history off: what keeping the history costs an update (target ≤ 10 %).
  const nh = await embedded('file-no-history', 'tracker, embedded, history off');
  const fr = await embedded('file', 'tracker, embedded store (fsync)');

  if (spawnSync('redis-server', ['--version']).error) {
    process.stdout.write('redis-server not installed: Redis row not measured (apt-get install -y redis-server)\n');
  } else {
    const port = 20000 + Math.floor(Math.random() * 20000);
    const redis = spawn('redis-server', ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 300));
    try {
      const rs = await startServer('redis', `redis://127.0.0.1:${port}`);
      const rr = await load('tracker, Redis store', rs.url, body);
      results.push(rr);
      lost[rr.name] = lostOf(rr.ok, await counted(rs.url));
      await stopChild(rs.child);
    } finally {
      redis.kill('SIGTERM');
    }
  }

  const base = results[0]!;
  process.stdout.write(`POST /api/migration/progress (update_metrics) for ${SECONDS} s each, ${CONNECTIONS} connections, server in its own process\n`);
  process.stdout.write(['name'.padEnd(34), 'req/s'.padStart(9), 'vs base'.padStart(8), 'p50 ms'.padStart(7), 'p99 ms'.padStart(7), 'errors'.padStart(7), 'lost'.padStart(5)].join(' ') + '\n');
  for (const r of results) {
    process.stdout.write(
      [
        r.name.padEnd(34),
        r.rps.toFixed(0).padStart(9),
        `${((r.rps / base.rps) * 100).toFixed(0)}%`.padStart(8),
        r.p50.toFixed(1).padStart(7),
        r.p99.toFixed(1).padStart(7),
        String(r.errors).padStart(7),
        String(lost[r.name] ?? '-').padStart(5),
      ].join(' ') + '\n',
    );
  }
  const emb = results.find((r) => r.name === fr.name)!;
  const cost = (1 - emb.rps / nh.rps) * 100;
  process.stdout.write(`history: embedded updates/s with history ${emb.rps.toFixed(0)} vs without ${nh.rps.toFixed(0)}: ${cost >= 0 ? `${cost.toFixed(1)} % slower` : `${(-cost).toFixed(1)} % faster (noise)`} → target ≤ 10 % ${cost <= 10 ? 'MET' : 'NOT MET'}\n`);
  process.stdout.write(`target: embedded ≥ 5000 updates/s with 0 lost → ${emb.rps >= 5000 && lost[emb.name] === 0 ? 'MET' : 'NOT MET'} (${emb.rps.toFixed(0)}/s, lost ${lost[emb.name]})\n`);
}
