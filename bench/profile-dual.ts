/**
 * Diagnosis: a V8 CPU profile of the search proxy in dual-write under upsert load (stores holding each write
 * BENCH_STORE_SERVICE_MS, default 10), written to the directory given as argv[2].
 * `npx tsx bench/profile-dual.ts /tmp/prof-dual`.
 */
import path from 'node:path';
import autocannon from 'autocannon';
import { upsertBody } from './proxy.bench';
import { spawnReady, stopChild } from './servers/spawn-ready';

async function main(): Promise<void> {
  const dir = process.argv[2] ?? '/tmp/prof-dual';
  const ms = process.env['BENCH_STORE_SERVICE_MS'] ?? '10';
  const server = path.join(__dirname, 'servers/search-proxy-server.ts');
  const dims = 128;
  const body = upsertBody(dims);
  const a = await spawnReady(server, ['backend', '100', String(dims), ms]);
  const b = await spawnReady(server, ['backend', '100', String(dims), ms]);
  const proxy = await spawnReady(server, ['dualproxy', a.url, b.url], { nodeArgs: ['--cpu-prof', '--cpu-prof-dir', dir] });
  try {
    const r = await autocannon({ url: `${proxy.url}/upsert`, method: 'POST', body, headers: { 'content-type': 'application/json' }, connections: 8, duration: 8 });
    process.stdout.write(`${r['2xx']} upserts, ${r.non2xx} non-2xx; profile in ${dir}\n`);
  } finally {
    await stopChild(proxy.child);
    await stopChild(a.child);
    await stopChild(b.child);
  }
}
void main();
