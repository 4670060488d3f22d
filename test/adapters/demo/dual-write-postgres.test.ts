/**
 * Dual-write into a real PostgreSQL table with a pgvector `vector(4)` column: PGlite (PostgreSQL compiled to WASM)
 * with @electric-sql/pglite-pgvector, behind a small HTTP adapter
 * (test/support/pglite-vector-store.mjs, its own process) that speaks the proxy's `generic` write format, as
 * the new store; a demo store as the old one. The table keeps each id's version and applies a write only
 * when it is newer (`ON CONFLICT ... WHERE`), a delete leaves a tombstone: the idempotency the proxy's
 * replays rely on is the database's own here. The table's adapter goes down, slow and failing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { DemoBackend, DemoIndex } from '../../../lib/adapters/demo/demo-backend';
import { serveHttp, type RunningServer } from '../../../lib/adapters/http/server';
import { httpVectorBackend, type HttpVectorBackend } from '../../../lib/adapters/http/vector-backend';
import { searchProxy, type SearchProxy } from '../../../lib/core/search/proxy';

let child: ChildProcess;
let control = '';
let old: DemoBackend;
let clients: HttpVectorBackend[] = [];
let proxy: SearchProxy;
let proxyServer: RunningServer;

async function startStore(): Promise<{ port: number; controlPort: number }> {
  child = spawn(process.execPath, [path.join(__dirname, '../../support/pglite-vector-store.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = readline.createInterface({ input: child.stdout! });
  const got: Record<string, number> = {};
  for await (const line of lines) {
    Object.assign(got, JSON.parse(line) as Record<string, number>);
    if (got['controlPort']) break;
  }
  return { port: got['port']!, controlPort: got['controlPort']! };
}

async function setMode(mode: string): Promise<void> {
  const r = await fetch(`${control}/control`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ mode }) });
  expect(r.status).toBe(200);
}

async function rows(): Promise<Map<string, { version: number; deleted: boolean }>> {
  const r = (await (await fetch(`${control}/rows`)).json()) as { rows: Array<{ id: string; version: number; deleted: boolean }> };
  return new Map(r.rows.map((x) => [x.id, { version: x.version, deleted: x.deleted }]));
}

async function write(p: '/upsert' | '/delete', body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(`${proxyServer.url}${p}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

const lag = () => proxy.writer!.stats().syncLag;
async function untilLagZero(): Promise<number> {
  for (let i = 0; i < 200 && lag() > 0; i++) await new Promise((r) => setTimeout(r, 50));
  return lag();
}

const vec = (i: number) => [Math.cos(i), Math.sin(i), 0.5, -0.25];

beforeAll(async () => {
  const { port, controlPort } = await startStore();
  control = `http://127.0.0.1:${controlPort}`;
  old = await DemoBackend.start({ name: 'old', index: new DemoIndex({ size: 10, dimensions: 4 }) });
  const primary = httpVectorBackend('primary', { kind: 'generic', url: `http://127.0.0.1:${port}` });
  const fallback = httpVectorBackend('fallback', { kind: 'generic', url: old.url });
  clients = [primary, fallback];
  proxy = searchProxy({
    primary,
    fallback,
    writers: { primary, fallback },
    settings: { stage: 'dual-write', followerBudgetMs: 150, replayIntervalMs: 50, consecutiveFailures: 2, resetTimeoutMs: 200, successThreshold: 1 },
  });
  await proxy.startWrites();
  proxyServer = await serveHttp(proxy.handler, { maxBodyBytes: 4 * 1024 * 1024 });
});

afterAll(async () => {
  await proxyServer?.close();
  await proxy?.close();
  for (const c of clients) c.close();
  await old?.close();
  child?.kill('SIGTERM');
});

it('writes reach the PostgreSQL table; down, slow and failing spells are replayed; versions decide, never arrival order', async () => {
  const acked = new Map<string, number>();
  const up = async (ids: string[], version: number) => {
    const r = await write('/upsert', { vectors: ids.map((id, i) => ({ id, vector: vec(i), version, metadata: { v: version } })) });
    expect(r.status).toBe(200);
    for (const id of ids) acked.set(id, Math.max(acked.get(id) ?? 0, version));
    return r;
  };
  await up(['a', 'b', 'c'], 1);
  expect((await rows()).get('a')).toEqual({ version: 1, deleted: false });

  await setMode('down');
  const down = await up(['a', 'd'], 2);
  expect(down.body['follower']).toMatchObject({ status: 'queued' });
  await setMode('ok');
  expect(await untilLagZero()).toBe(0);

  await setMode('error');
  await up(['e', 'f'], 3);
  const del = await write('/delete', { items: [{ id: 'b', version: 4 }] });
  expect(del.status).toBe(200);
  await setMode('ok');
  expect(await untilLagZero()).toBe(0);

  await setMode('slow');
  const slow = await up(['g'], 5);
  expect(slow.body['follower']).toMatchObject({ status: 'queued', reason: 'timeout' });
  // the proxy answered while the table's adapter still held the write
  expect(((await (await fetch(`${control}/status`)).json()) as { holding: number }).holding).toBeGreaterThanOrEqual(1);
  await setMode('ok');
  expect(await untilLagZero()).toBe(0);

  // an old version sent again (a client retry, a late replay) changes nothing in either store
  expect((await up(['a'], 1)).status).toBe(200);

  const r = await rows();
  for (const [id, v] of acked) if (id !== 'b') expect(r.get(id)).toEqual({ version: v, deleted: false });
  expect(r.get('b')).toEqual({ version: 4, deleted: true });
  // the reconciliation view: both stores hold the same ids at the same versions
  const oldRecords = old.records.list(null, 100);
  expect(new Map(oldRecords.map((x) => [x.id, x.version]))).toEqual(new Map([...r].map(([id, x]) => [id, x.version])));

  // a real pgvector column: the vectors replayed into it are the table's type, searched by pgvector's cosine distance
  expect(((await (await fetch(`${control}/status`)).json()) as { embeddingType: string }).embeddingType).toBe('vector(4)');
  const hits = ((await (await fetch(`${control}/search`, { method: 'POST', body: JSON.stringify({ vector: vec(1), topK: 2 }) })).json()) as { results: Array<{ id: string; score: number }> }).results;
  expect(hits.map((h) => h.id).sort()).toEqual(['d', 'f']); // written with vec(1)
  expect(hits[0]!.score).toBeCloseTo(1, 5);
  const wrongSize = await fetch(`${control}/upsert`, { method: 'POST', body: JSON.stringify({ vectors: [{ id: 'z', vector: [1, 2, 3], version: 1 }] }) });
  expect(wrongSize.status).toBe(500);
  expect(await wrongSize.text()).toMatch(/expected 4 dimensions, not 3/);
});
