import { FileStore } from '../../../lib/adapters/file/file-store';
import { serveHttp, type RunningServer } from '../../../lib/adapters/http/server';
import { Tracker } from '../../../lib/core/tracker/service';
import { trackerApi } from '../../../lib/core/tracker/api';

let srv: RunningServer;
let tracker: Tracker;
const TOKEN = 's3cret-token';

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(srv.url + path, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: text ? JSON.parse(text) : null };
}

beforeEach(async () => {
  tracker = new Tracker({ store: FileStore.inMemory() });
  await tracker.initialize('default', {});
  srv = await serveHttp(trackerApi({ tracker, token: TOKEN }));
});
afterEach(async () => {
  await srv.close();
});

describe('tracker HTTP API (real socket)', () => {
  it('serves the overview, estimate and dashboard', async () => {
    const o = await call('GET', '/api/migration/progress');
    expect(o.status).toBe(200);
    expect(o.json.phases).toHaveLength(7);
    expect((await call('GET', '/api/migration/estimate')).json.estimatedCompletion).toBeNull();
    const d = await call('GET', '/api/migration/dashboard');
    expect(d.json.phaseDetails[0].subTasks.length).toBeGreaterThan(0);
    expect(d.json.recentActivity[0].action).toBe('migration.initialize');
  });

  it('applies a phase update and answers with the phase', async () => {
    const r = await call('POST', '/api/migration/progress', { action: 'start_phase', phaseId: 'initialization' });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ ok: true, phase: { id: 'initialization', status: 'in_progress' } });
  });

  const bad: Array<[string, unknown, number, RegExp]> = [
    ['malformed JSON', '{"action": ', 400, /malformed JSON/],
    ['wrong type', { action: 'update_phase', phaseId: 'initialization', progress: 'fifty' }, 400, /progress/],
    ['out-of-range progress', { action: 'update_phase', phaseId: 'initialization', progress: 101 }, 400, /between 0 and 100/],
    ['unknown action', { action: 'explode' }, 400, /action/],
    ['unknown field', { action: 'start_phase', phaseId: 'initialization', colour: 'red' }, 400, /colour/],
    ['unknown phase', { action: 'start_phase', phaseId: 'nope' }, 404, /unknown phase "nope"/],
    ['blocked phase', { action: 'start_phase', phaseId: 'database' }, 409, /waiting for "infrastructure"/],
    ['illegal transition', { action: 'complete_phase', phaseId: 'initialization' }, 409, /it is pending/],
    ['empty body', '', 400, /empty/],
    ['array body', '[]', 400, /invalid operation/],
  ];
  it.each(bad)('refuses %s with a 4xx naming the problem and changes nothing', async (_name, body, status, msg) => {
    const before = await tracker.store.load('default');
    const r = await call('POST', '/api/migration/progress', body);
    expect(r.status).toBe(status);
    expect(r.json.error.message).toMatch(msg);
    expect((await tracker.store.load('default'))!.version).toBe(before!.version);
  });

  it('refuses an oversize body with 413 and a non-JSON content type with 415', async () => {
    const big = JSON.stringify({ action: 'create_alert', severity: 'info', message: 'x'.repeat(300_000) });
    const r = await call('POST', '/api/migration/progress', big);
    expect(r.status).toBe(413);
    expect(r.json.error.message).toMatch(/exceeds/);
    const t = await call('POST', '/api/migration/progress', '{}', { 'content-type': 'text/plain' });
    expect(t.status).toBe(415);
  });

  it('needs the bearer token on /api but leaves /health open (status only)', async () => {
    const r = await fetch(srv.url + '/api/migration/progress');
    expect(r.status).toBe(401);
    expect(r.headers.get('www-authenticate')).toBe('Bearer');
    const wrong = await call('GET', '/api/migration/progress', undefined, { authorization: 'Bearer nope' });
    expect(wrong.status).toBe(401);
    const h = await fetch(srv.url + '/health');
    expect(h.status).toBe(200);
    expect(await h.json()).toEqual({ status: 'healthy' });
  });

  it('maps health to 200/200/503', async () => {
    await call('POST', '/api/migration/progress', { action: 'update_metrics', metrics: { errorRate: 50 } });
    let h = await call('GET', '/health');
    expect([h.status, h.json.status]).toEqual([200, 'degraded']);
    await call('POST', '/api/migration/progress', { action: 'fail_phase', phaseId: 'initialization', error: 'preflight failed' });
    h = await call('GET', '/health');
    expect([h.status, h.json.status]).toEqual([503, 'unhealthy']);
    expect(h.json.migrations[0].reasons[0]).toMatch(/preflight failed/);
  });

  it('replays an Idempotency-Key with the first result and no change', async () => {
    const op = { action: 'update_metrics', increment: { successfulOperations: 5 } };
    const a = await call('POST', '/api/migration/progress', op, { 'idempotency-key': 'abc' });
    const b = await call('POST', '/api/migration/progress', op, { 'idempotency-key': 'abc' });
    expect(b.json).toEqual(a.json);
    expect(b.headers.get('idempotent-replayed')).toBe('true');
    expect((await tracker.get('default')).metrics.successfulOperations).toBe(5);
  });

  it('addresses migrations by path, header or query, side by side', async () => {
    expect((await call('POST', '/api/migrations/tenant-a/progress', { action: 'initialize', name: 'Tenant A' })).status).toBe(200);
    await call('POST', '/api/migration/progress', { action: 'initialize', name: 'Tenant B' }, { 'x-migration-id': 'tenant-b' });
    await call('POST', '/api/migration/progress?migration=tenant-b', { action: 'start_phase', phaseId: 'initialization' });
    expect((await call('GET', '/api/migrations')).json.migrations).toEqual(['default', 'tenant-a', 'tenant-b']);
    expect((await call('GET', '/api/migrations/tenant-a/progress')).json.name).toBe('Tenant A');
    expect((await call('GET', '/api/migration/progress', undefined, { 'x-migration-id': 'tenant-b' })).json.status).toBe('in_progress');
    expect((await call('GET', '/api/migrations/ghost/progress')).status).toBe(404);
    expect((await call('GET', '/api/migration/progress?migration=bad%20id')).status).toBe(400);
  });

  it('runs dashboard actions: pause, resume, acknowledge', async () => {
    const a = await call('POST', '/api/migration/progress', { action: 'create_alert', severity: 'critical', message: 'replication broken' });
    expect((await call('POST', '/api/migration/dashboard', { action: 'pause', reason: 'investigating' }, { 'x-actor': 'alice' })).status).toBe(200);
    expect((await call('POST', '/api/migration/progress', { action: 'start_phase', phaseId: 'initialization' })).status).toBe(409);
    expect((await call('POST', '/api/migration/dashboard', { action: 'acknowledge_alert', alertId: a.json.alert.id })).status).toBe(200);
    expect((await call('POST', '/api/migration/dashboard', { action: 'resume' })).status).toBe(200);
    const d = await call('GET', '/api/migration/dashboard');
    // X-Actor is a claim: recorded beside the token's name, never as the author
    expect(d.json.controlEvents.map((e: { type: string; actor: string; onBehalfOf?: string }) => `${e.type}:${e.actor}:${e.onBehalfOf ?? ''}`)).toEqual(['pause:token:alice', 'resume:token:']);
    expect(d.json.alerts[0].acknowledged).toBe(true);
  });

  it("answers the seed's PUT /api/migration/progress with the estimate (kept for compatibility)", async () => {
    await call('POST', '/api/migration/progress', { action: 'start_phase', phaseId: 'initialization' });
    const put = await call('PUT', '/api/migration/progress', {});
    expect(put.status).toBe(200);
    expect(put.json).toEqual((await call('GET', '/api/migration/estimate')).json);
    expect(put.json).toMatchObject({ basis: 'no-data', reason: 'no progress observed yet' });
    expect((await call('PUT', '/api/migrations/default/progress', {})).json.migrationId).toBe('default');
    expect((await call('PUT', '/api/migration/progress', {}, { authorization: 'Bearer nope' })).status).toBe(401);
  });

  it('answers unknown routes with 404 and wrong methods with 405', async () => {
    expect((await call('GET', '/api/nothing')).status).toBe(404);
    const r = await call('DELETE', '/api/migration/progress');
    expect(r.status).toBe(405);
    expect(r.headers.get('allow')).toContain('GET');
  });
});

describe('hostile bodies: depth and size limits (real socket)', () => {
  const deep = (n: number) => '{"a":'.repeat(n) + '1' + '}'.repeat(n);
  const deepArray = (n: number) => '['.repeat(n) + ']'.repeat(n);
  const withMetadata = (op: string, raw: string) => `{${op},"metadata":${raw}}`;
  const cases: Array<[string, string, string]> = [
    ['start_phase', '/api/migration/progress', withMetadata('"action":"start_phase","phaseId":"initialization"', deep(5000))],
    ['update_phase', '/api/migration/progress', withMetadata('"action":"update_phase","phaseId":"initialization","progress":5', deep(5000))],
    ['complete_phase', '/api/migration/progress', withMetadata('"action":"complete_phase","phaseId":"initialization"', deep(5000))],
    ['start_subtask', '/api/migration/progress', withMetadata('"action":"start_subtask","phaseId":"infrastructure","subTaskId":"vpc"', deep(5000))],
    ['initialize (plan)', '/api/migration/progress', `{"action":"initialize","reset":true,"plan":[${deep(5000)}]}`],
    ['a bare nested array', '/api/migration/progress', deepArray(100_000)],
    ['a dashboard action', '/api/migration/dashboard', `{"action":"pause","reason":${deep(5000)}}`],
  ];
  it.each(cases)('refuses JSON nested 5,000 deep in %s with 400 naming the depth limit and changes nothing', async (_name, path, body) => {
    const before = await tracker.store.load('default');
    const r = await call('POST', path, body);
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe('json_too_deep');
    expect(r.json.error.message).toMatch(/nested deeper than 32 levels/);
    expect((await tracker.store.load('default'))!.version).toBe(before!.version);
  });

  it('refuses a "__proto__" metadata key with 400 instead of silently dropping it, and changes nothing', async () => {
    const before = await tracker.store.load('default');
    const r = await call('POST', '/api/migration/progress', '{"action":"start_phase","phaseId":"initialization","metadata":{"__proto__":{"polluted":1},"a":1}}');
    expect(r.status).toBe(400);
    expect(r.json.error.message).toMatch(/__proto__/);
    expect((await tracker.store.load('default'))!.version).toBe(before!.version);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('accepts nesting within the limit, and brackets inside strings do not count', async () => {
    const metadata = JSON.parse(deep(20)) as Record<string, unknown>;
    metadata['note'] = '{['.repeat(100);
    const r = await call('POST', '/api/migration/progress', { action: 'start_phase', phaseId: 'initialization', metadata });
    expect(r.status).toBe(200);
  });

  it('refuses a body over the size limit on every POST endpoint with 413 naming the limit', async () => {
    const big = JSON.stringify({ action: 'pause', reason: 'x'.repeat(300_000) });
    for (const path of ['/api/migration/progress', '/api/migration/dashboard', '/api/migrations/default/progress']) {
      const r = await call('POST', path, big);
      expect(r.status).toBe(413);
      expect(r.json.error.message).toMatch(/exceeds 262144 bytes/);
    }
  });
});

describe('hostile transport: encodings, charsets, replayed refusals, nosniff (real socket)', () => {
  const raw = (body: Buffer, headers: Record<string, string>) =>
    fetch(srv.url + '/api/migration/progress', { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, ...headers }, body: new Uint8Array(body) });
  const alert = JSON.stringify({ action: 'create_alert', severity: 'info', message: 'café ☕' });

  it('refuses a gzip-encoded body with 415 naming Content-Encoding, and changes nothing', async () => {
    const { gzipSync } = await import('node:zlib');
    const before = await tracker.store.load('default');
    const r = await raw(gzipSync(Buffer.from(alert)), { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    expect(r.status).toBe(415);
    expect((await r.json()).error.message).toMatch(/Content-Encoding "gzip"/);
    expect((await tracker.store.load('default'))!.version).toBe(before!.version);
  });

  it.each([
    ['utf-16le', 'utf16le' as const],
    ['iso-8859-1', 'latin1' as const],
  ])('refuses a body declared charset=%s with 415 naming the charset (never misparsed as UTF-8)', async (charset, enc) => {
    const before = await tracker.store.load('default');
    const r = await raw(Buffer.from(alert, enc), { 'content-type': `application/json; charset=${charset}` });
    expect(r.status).toBe(415);
    expect((await r.json()).error.message).toMatch(new RegExp(`charset "${charset}"`));
    expect((await tracker.store.load('default'))!.version).toBe(before!.version);
  });

  it('refuses bytes that are not UTF-8 with 400 instead of storing replacement characters', async () => {
    const before = await tracker.store.load('default');
    const r = await raw(Buffer.from(alert, 'latin1'), { 'content-type': 'application/json' });
    expect(r.status).toBe(400);
    expect((await r.json()).error.message).toMatch(/not valid UTF-8/);
    expect((await tracker.store.load('default'))!.version).toBe(before!.version);
  });

  it('accepts UTF-8, declared or not', async () => {
    for (const ct of ['application/json', 'application/json; charset=UTF-8', 'application/json;charset=utf8']) {
      const r = await raw(Buffer.from(alert), { 'content-type': ct });
      expect(r.status).toBe(200);
      expect((await r.json()).alert.message).toBe('café ☕');
    }
  });

  it('replays a refused request under an Idempotency-Key with its first answer, even after the state changed', async () => {
    const op = { action: 'start_phase', phaseId: 'initialization' };
    expect((await call('POST', '/api/migration/dashboard', { action: 'pause' })).status).toBe(200);
    const first = await call('POST', '/api/migration/progress', op, { 'idempotency-key': 'refused-1' });
    expect(first.status).toBe(409);
    expect((await call('POST', '/api/migration/dashboard', { action: 'resume' })).status).toBe(200);
    const replay = await call('POST', '/api/migration/progress', op, { 'idempotency-key': 'refused-1' });
    expect(replay.status).toBe(409);
    expect(replay.json).toEqual(first.json);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect((await tracker.get('default')).phases[0]!.status).toBe('pending');
    // a new key is evaluated afresh
    expect((await call('POST', '/api/migration/progress', op, { 'idempotency-key': 'refused-2' })).status).toBe(200);
  });

  it('sends X-Content-Type-Options: nosniff on JSON answers, errors included', async () => {
    for (const r of [await fetch(srv.url + '/health'), await call('GET', '/api/migration/progress'), await call('GET', '/api/nothing'), await fetch(srv.url + '/api/migration/progress')]) {
      expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    }
  });
});
