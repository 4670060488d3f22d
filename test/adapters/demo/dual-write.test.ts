/**
 * Dual-write through the search proxy over real sockets: the proxy, the HTTP JSON adapter and the two demo
 * stores on 127.0.0.1, with the follower store down, slow, answering 5xx and flapping. Nothing times a
 * request with the wall clock: the added time is read from the proxy's own timing of the follower call and
 * compared with the configured budget, and "the proxy did not wait" is shown by the slow store still
 * holding the request when the answer arrives. Recovery is awaited by polling with a bound.
 */
import { startDemoProxy, type DemoProxy } from '../../../lib/adapters/demo/demo-proxy';
import type { DemoBackendStatus } from '../../../lib/adapters/demo/demo-backend';

const BUDGET_MS = 100;
let demo: DemoProxy;
const logs: string[] = [];
let seq = 0;

const vec = (i: number) => Array.from({ length: 8 }, (_, d) => Math.sin(i * 8 + d + 1));

interface WriteAnswer {
  status: number;
  body: {
    acknowledged?: number;
    acknowledgedBy?: string;
    stage?: string;
    syncLag?: number;
    follower?: { backend: string; status: string; reason?: string; ms: number } | null;
    error?: { code: string; message: string };
  };
}

async function post(path: string, body: unknown): Promise<WriteAnswer> {
  const r = await fetch(`${demo.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: r.status, body: (await r.json()) as WriteAnswer['body'] };
}

const upsert = (ids: string[], version: number) => post('/upsert', { vectors: ids.map((id, i) => ({ id, vector: vec(i), version, metadata: { v: version } })) });

async function setMode(role: 'primary' | 'fallback', mode: string, extra: Record<string, unknown> = {}): Promise<void> {
  const r = await fetch(`${demo.url}/demo/backends/${role}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ mode, ...extra }) });
  expect(r.status).toBe(200);
}

async function status(): Promise<Record<'primary' | 'fallback', DemoBackendStatus>> {
  return (await (await fetch(`${demo.url}/demo/backends`)).json()) as Record<'primary' | 'fallback', DemoBackendStatus>;
}

/** id -> version held by a store (tombstones as negative versions). */
async function held(role: 'primary' | 'fallback'): Promise<Map<string, number>> {
  const url = role === 'primary' ? demo.primaryUrl : demo.fallbackUrl;
  const r = (await (await fetch(`${url}/records?limit=10000`)).json()) as { items: Array<{ id: string; version: number; deleted: boolean }> };
  return new Map(r.items.map((x) => [x.id, x.deleted ? -x.version : x.version]));
}

async function health(): Promise<{ status: string; stage: string; writes: { syncLag: number; byStore: Record<string, number> } }> {
  return (await (await fetch(`${demo.url}/health`)).json()) as { status: string; stage: string; writes: { syncLag: number; byStore: Record<string, number> } };
}

async function lagBackToZero(limit = 200): Promise<number> {
  let lag = (await health()).writes.syncLag;
  for (let i = 0; i < limit && lag > 0; i++) {
    await new Promise((r) => setTimeout(r, 50));
    lag = (await health()).writes.syncLag;
  }
  return lag;
}

async function setStage(stage: string): Promise<void> {
  const r = await fetch(`${demo.url}/admin/stage`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ stage }) });
  expect(r.status).toBe(200);
}

beforeEach(async () => {
  logs.length = 0;
  seq += 1;
  demo = await startDemoProxy({
    settings: {
      stage: 'dual-write',
      followerBudgetMs: BUDGET_MS,
      writeTimeoutMs: 2000,
      replayIntervalMs: 50,
      consecutiveFailures: 3,
      resetTimeoutMs: 300,
      successThreshold: 1,
    },
    log: (l) => logs.push(l),
  });
});
afterEach(async () => {
  await demo.close();
});

it('dual-write: the old store acknowledges, the new store follows, both hold every id at its version', async () => {
  const ids = Array.from({ length: 50 }, (_, i) => `w${seq}-${i}`);
  const a = await upsert(ids, 1);
  expect(a.status).toBe(200);
  expect(a.body).toMatchObject({ acknowledged: 50, acknowledgedBy: 'fallback', stage: 'dual-write', syncLag: 0, follower: { backend: 'primary', status: 'written' } });
  const d = await post('/delete', { items: [{ id: ids[0], version: 2 }] });
  expect(d.status).toBe(200);
  for (const role of ['primary', 'fallback'] as const) {
    const h = await held(role);
    expect(h.get(ids[0]!)).toBe(-2);
    for (const id of ids.slice(1)) expect(h.get(id)).toBe(1);
  }
  // a search in dual-write is served by the old store only
  const s = await fetch(`${demo.url}/search`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ vector: vec(3), topK: 1 }) });
  expect(await s.json()).toMatchObject({ servedBy: 'fallback', stage: 'dual-write', mode: 'fallback-only', results: [{ id: ids[3] }] });
});

it('follower down: writes are acknowledged and queued (lag = ids behind); after recovery the replay brings lag back to 0', async () => {
  await setMode('primary', 'down');
  const ids = Array.from({ length: 30 }, (_, i) => `d${seq}-${i}`);
  for (let i = 0; i < 3; i++) {
    const a = await upsert(ids.slice(i * 10, i * 10 + 10), 1);
    expect(a.status).toBe(200);
    expect(a.body.follower).toMatchObject({ backend: 'primary', status: 'queued' });
  }
  // a newer version of an id already queued replaces its entry: lag counts ids, not writes
  expect((await upsert(ids.slice(0, 5), 2)).status).toBe(200);
  const h0 = await health();
  expect(h0.writes.syncLag).toBe(30);
  expect(h0.status).toBe('degraded'); // the follower's write breaker is open, as the breaker-open alarm says
  const metrics = await (await fetch(`${demo.url}/metrics`)).text();
  expect(metrics).toMatch(/dual_write_sync_lag_events\{tenant_id="search"\} 30/);
  expect(metrics).toMatch(/dual_write_operations_total\{status="queued"\} 35/);
  expect(metrics).toMatch(/dual_write_target_failures_total\{tenant_id="search"\} [1-9]/);
  const rec = (await (await fetch(`${demo.url}/reconcile`)).json()) as { missingFrom: Record<string, Array<{ id: string; version: number }>> };
  expect(rec.missingFrom['primary']!.map((x) => x.id).sort()).toEqual([...ids].sort());
  expect(rec.missingFrom['fallback']).toEqual([]);

  await setMode('primary', 'ok');
  expect(await lagBackToZero()).toBe(0);
  const p = await held('primary');
  const f = await held('fallback');
  for (const [i, id] of ids.entries()) {
    const v = i < 5 ? 2 : 1;
    expect(f.get(id)).toBe(v);
    expect(p.get(id)).toBe(v);
  }
  // nothing applied twice, nothing older replayed over a newer version
  expect((await status()).primary.writes.stale).toBe(0);
  expect(await (await fetch(`${demo.url}/metrics`)).text()).toMatch(/dual_write_operations_total\{status="replayed"\} 30/);
});

it('follower slow: the answer waits at most the follower budget (the proxy\'s own timing), the store is still holding the call', async () => {
  await setMode('primary', 'slow', { slowMs: 10_000 });
  const a = await upsert([`s${seq}-1`], 1);
  expect(a.status).toBe(200);
  expect(a.body.follower).toMatchObject({ backend: 'primary', status: 'queued', reason: 'timeout' });
  // the follower call was cut at its budget; the timer may fire late on a busy machine, never early
  expect(a.body.follower!.ms).toBeGreaterThanOrEqual(BUDGET_MS - 1);
  expect(a.body.follower!.ms).toBeLessThan(BUDGET_MS + 1000);
  // answered while the slow store still holds the write: the proxy did not wait for it
  expect((await status()).primary.holding).toBe(1);
  expect((await held('fallback')).get(`s${seq}-1`)).toBe(1);
  await setMode('primary', 'ok');
  expect(await lagBackToZero()).toBe(0);
  expect((await held('primary')).get(`s${seq}-1`)).toBe(1);
});

it('follower answering 5xx, then flapping: every acknowledged write reaches it once it recovers', async () => {
  await setMode('primary', 'error', { errorStatus: 503 });
  const acked = new Map<string, number>();
  for (let i = 0; i < 10; i++) {
    const a = await upsert([`e${seq}-${i}`], 3);
    expect(a.status).toBe(200);
    acked.set(`e${seq}-${i}`, 3);
  }
  await setMode('primary', 'flaky');
  for (let i = 0; i < 60; i++) {
    const a = await upsert([`f${seq}-${i % 20}`], i + 1);
    expect(a.status).toBe(200);
    acked.set(`f${seq}-${i % 20}`, i + 1);
  }
  await setMode('primary', 'ok');
  expect(await lagBackToZero()).toBe(0);
  const p = await held('primary');
  const f = await held('fallback');
  for (const [id, v] of acked) {
    expect(f.get(id)).toBe(v);
    expect(p.get(id)).toBe(v);
  }
});

it('the follower is written beside the acknowledging store, not after it: it holds the write while the ack store still holds the call', async () => {
  await setMode('fallback', 'slow', { slowMs: 10_000 });
  const pending = upsert([`c${seq}-1`], 1);
  // bounded poll: the new store has the write while the old one has not answered yet
  let inFollower = false;
  for (let i = 0; i < 200 && !inFollower; i++) {
    await new Promise((r) => setTimeout(r, 10));
    inFollower = (await held('primary')).get(`c${seq}-1`) === 1;
  }
  expect(inFollower).toBe(true);
  expect((await status()).fallback.holding).toBe(1);
  await setMode('fallback', 'ok'); // ends the hold: the old store answers now
  const a = await pending;
  expect(a.status).toBe(200);
  expect(a.body.follower).toMatchObject({ backend: 'primary', status: 'written' });
  expect((await held('fallback')).get(`c${seq}-1`)).toBe(1);
});

it('the acknowledging store down: 503; what the follower took meanwhile is queued for the ack store, so both converge; a retry with the same versions is safe', async () => {
  await setMode('fallback', 'down');
  const a = await upsert([`a${seq}-1`], 1);
  expect(a.status).toBe(503);
  expect(a.body.error).toMatchObject({ code: 'write_not_acknowledged' });
  expect(a.body.error!.message).toMatch(/fallback store did not accept the upsert.*primary store, written at the same time, took it and it is queued for the fallback store/);
  expect((await held('primary')).get(`a${seq}-1`)).toBe(1);
  const rec = (await (await fetch(`${demo.url}/reconcile`)).json()) as { missingFrom: Record<string, Array<{ id: string }>> };
  expect(rec.missingFrom['fallback']!.map((x) => x.id)).toEqual([`a${seq}-1`]);
  await setMode('fallback', 'ok');
  // the breaker may still be open: retry until it lets the write through (bounded)
  let r = await upsert([`a${seq}-1`], 1);
  for (let i = 0; i < 40 && r.status !== 200; i++) {
    await new Promise((res) => setTimeout(res, 50));
    r = await upsert([`a${seq}-1`], 1);
  }
  expect(r.status).toBe(200);
  expect(await lagBackToZero()).toBe(0);
  expect((await held('fallback')).get(`a${seq}-1`)).toBe(1);
  expect((await held('primary')).get(`a${seq}-1`)).toBe(1);
});

it('the acknowledging store\'s breaker open: refused at once, nothing sent to the follower', async () => {
  await setMode('fallback', 'down');
  for (let i = 0; i < 3; i++) await upsert([`o${seq}-${i}`], 1); // consecutiveFailures: 3 opens the write breaker
  const before = (await status()).primary.writes.requests;
  const a = await upsert([`o${seq}-x`], 1);
  expect(a.status).toBe(503);
  expect(a.body.error!.message).toMatch(/nothing was sent to the other store/);
  expect((await status()).primary.writes.requests).toBe(before);
});

it('bad write bodies: 4xx naming what is wrong, no store sees them', async () => {
  const before = await status();
  const cases: Array<[unknown, RegExp]> = [
    [{ vectors: [] }, /vectors: must hold at least one vector/],
    [{ vectors: [{ id: 'x', vector: [1], version: -1 }] }, /version/],
    [{ vectors: [{ id: 'x', vector: [1], version: 1 }, { id: 'x', vector: [2], version: 2 }] }, /appears twice/],
    [{ vectors: [{ id: 'x', vector: [1], version: 1.5 }] }, /integer/],
    [{ vectors: [{ id: 'x', vector: [1], version: 1, extra: 1 }] }, /extra/],
    [{ vectors: [{ id: 'x', vector: [1, '2', 3], version: 1 }] }, /vectors\[0\]\.vector\[1\]: must be a number \(got "2"\)/],
    [{ vectors: [{ id: 'x', vector: [], version: 1 }] }, /vector: must have at least one dimension/],
    [{ vectors: [{ id: 'x', vector: { 0: 1 }, version: 1 }] }, /vector: must be an array of numbers/],
    [{ vectors: [{ id: 'x', version: 1 }] }, /vector: must be an array of numbers/],
    [{ items: [{ id: '', version: 1 }] }, /upsert request/],
  ];
  for (const [body, msg] of cases) {
    const a = await post('/upsert', body);
    expect(a.status).toBe(400);
    expect(a.body.error!.message).toMatch(msg);
  }
  const d = await post('/delete', { items: [{ id: 'x' }] });
  expect(d.status).toBe(400);
  expect(d.body.error!.message).toMatch(/items\.0\.version|version/);
  expect((await post('/upsert', '{"vectors": [')).status).toBe(400);
  // a store-level refusal (wrong dimension count) is the client's: 400, the write is not queued; the follower,
  // written at the same time, refused it too and the answer says so
  const wrong = await post('/upsert', { vectors: [{ id: 'y', vector: [1, 2, 3], version: 1 }] });
  expect(wrong.status).toBe(400);
  expect(wrong.body.error).toMatchObject({ code: 'backend_rejected_request', details: { backend: 'fallback', follower: 'not written' } });
  const after = await status();
  expect(after.primary.writes.requests).toBe(before.primary.writes.requests + 1);
  expect(after.fallback.writes.requests).toBe(before.fallback.writes.requests + 1);
  expect((await held('primary')).has('y')).toBe(false);
  expect((await health()).writes.syncLag).toBe(0);
});

it('stages switched under bounded load: no acknowledged write lost, reads and writes move together, rollback keeps writing the old store', async () => {
  const stages = ['dual-write', 'shadow', 'new-primary', 'dual-write', 'new-primary', 'old-only', 'dual-write'];
  const acked: Array<{ id: string; version: number; by: string; stage: string }> = [];
  let stop = false;
  const writer = async (w: number) => {
    for (let i = 0; i < 400 && !stop; i++) {
      const id = `l${seq}-${w}-${i % 25}`;
      const a = await upsert([id], i + 1);
      expect(a.status).toBe(200);
      acked.push({ id, version: i + 1, by: a.body.acknowledgedBy!, stage: a.body.stage! });
    }
  };
  const load = Promise.all([0, 1, 2].map(writer));
  for (const st of stages) {
    await new Promise((r) => setTimeout(r, 40));
    await setStage(st);
  }
  stop = true;
  await load;
  expect(acked.length).toBeGreaterThan(0);
  // the stages the writes saw, with the store each one names
  for (const a of acked) expect(a.by).toBe(a.stage === 'new-primary' ? 'primary' : 'fallback');
  // old-only writes the old store alone: the new store catches up only through later writes, so compare at the end of dual-write
  expect(await lagBackToZero()).toBe(0);
  const latest = new Map<string, number>();
  for (const a of acked) latest.set(a.id, Math.max(latest.get(a.id) ?? 0, a.version));
  const f = await held('fallback');
  for (const [id, v] of latest) expect(f.get(id)).toBe(v);
  // every write acknowledged outside old-only also reached the new store
  const p = await held('primary');
  for (const a of acked) if (a.stage !== 'old-only') expect(p.get(a.id)).toBeGreaterThanOrEqual(a.version);
  expect((await health()).stage).toBe('dual-write');
});

it('a full replay queue refuses the write before any store sees it (503 naming the limit), so nothing is acknowledged that could be lost', async () => {
  const small = await startDemoProxy({ settings: { stage: 'dual-write', followerBudgetMs: BUDGET_MS, maxReplayQueue: 3, replayIntervalMs: 50 }, log: () => undefined });
  try {
    await fetch(`${small.url}/demo/backends/primary`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ mode: 'down' }) });
    const w = (ids: string[]) => fetch(`${small.url}/upsert`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ vectors: ids.map((id) => ({ id, vector: vec(1), version: 1 })) }) });
    expect((await w(['q1', 'q2'])).status).toBe(200);
    const before = ((await (await fetch(`${small.url}/demo/backends`)).json()) as Record<string, DemoBackendStatus>)['fallback']!.writes.requests;
    const full = await w(['q3', 'q4']);
    expect(full.status).toBe(503);
    expect(((await full.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'replay_queue_full', message: expect.stringMatching(/holds 2 of at most 3/) });
    expect(((await (await fetch(`${small.url}/demo/backends`)).json()) as Record<string, DemoBackendStatus>)['fallback']!.writes.requests).toBe(before);
  } finally {
    await small.close();
  }
});
