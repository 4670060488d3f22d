import http from 'node:http';
import { gzipSync } from 'node:zlib';
import { FileStore } from '../../../lib/adapters/file/file-store';
import { serveHttp, type RunningServer } from '../../../lib/adapters/http/server';
import { ManualClock } from '../../../lib/core/clock';
import { prng } from '../../../lib/core/random';
import { Tracker } from '../../../lib/core/tracker/service';
import { trackerApi } from '../../../lib/core/tracker/api';
import { dashboardRoutes } from '../../../lib/core/ui/dashboard';
import { metricsRoute } from '../../../lib/adapters/prometheus/metrics';

/**
 * A hostile fuzz over a real socket: 1,000 seeded cases across every tracker endpoint, drawn from a grammar of
 * methods, paths, headers, encodings, sizes, depths, unicode and prototype keys. Every answer must be a 4xx or
 * a 2xx (never a 5xx), every refusal must leave every migration's state exactly as it was, and nothing may
 * reach Object.prototype. Two servers share one tracker: the bare API, and local mode's routes (dashboard,
 * /metrics) behind its browser guard. The clock is manual, so only requests change state.
 */
const SEED = 0x5eed14;
const CASES = 1000;
const TOKEN = 'fuzz-token';

type Rand = () => number;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const int = (r: Rand, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
const chance = (r: Rand, p: number) => r() < p;

const PHASES = ['initialization', 'infrastructure', 'database', 'vector-search', 'apis', 'validation', 'finalization', 'nope', '__proto__'];
const PROTO_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf'];
const IDS = ['default', 'tenant-a', 'tenant.b_1', 'x'.repeat(64), 'x'.repeat(65), '', 'bad id', '__proto__', 'constructor', '..', '%2e%2e', 'ünï', '💥'];

function str(r: Rand): string {
  switch (int(r, 0, 12)) {
    case 0: return '';
    case 1: return pick(r, PHASES);
    case 2: return pick(r, PROTO_KEYS);
    case 3: return '💥🚀 emoji';
    case 4: return '\u0000nul\u0001';
    case 5: return '\ud800 lone surrogate \udfff';
    case 6: return '\u202eRTL override';
    case 7: return 'x'.repeat(int(r, 100, 5000));
    case 8: return 'é ñ ü 中文 العربية';
    case 9: return '{"action":"pause"}';
    case 10: return '<script>alert(1)</script>';
    case 11: return `${int(r, -5, 200)}`;
    default: return 'ok text';
  }
}

function num(r: Rand): number {
  return pick(r, [0, -0, 1, -1, 5, 50, 99.5, 100, 101, 1e308, -1e308, 2 ** 53 + 1, 1e-320, 0.1, 3600, 7 * 24 * 3600 + 1, int(r, -1000, 1e9)]);
}

function value(r: Rand, depth: number): unknown {
  const k = int(r, 0, depth > 0 ? 7 : 4);
  if (k === 0) return num(r);
  if (k === 1) return str(r);
  if (k === 2) return chance(r, 0.5);
  if (k === 3) return null;
  if (k === 4) return pick(r, [[], {}]);
  if (k === 5) return Array.from({ length: int(r, 0, 4) }, () => value(r, depth - 1));
  return object(r, depth - 1);
}

function object(r: Rand, depth: number): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (let i = int(r, 0, 4); i > 0; i--) {
    const key = chance(r, 0.3) ? pick(r, PROTO_KEYS) : str(r).slice(0, 120);
    Object.defineProperty(o, key, { value: value(r, depth), enumerable: true, writable: true, configurable: true });
  }
  return o;
}

/** Stands for `{"a":{"a":…}}` nested `depth` deep; `serialize` writes it as text (JSON.stringify would recurse that deep). */
const deepMarker = (depth: number) => `\u0001deep:${depth}\u0001`;
const serialize = (v: unknown) => JSON.stringify(v).replace(/"\\u0001deep:(\d+)\\u0001"/g, (_m, d: string) => '{"a":'.repeat(Number(d)) + '1' + '}'.repeat(Number(d)));

/** The fields each action takes: the grammar builds a well-formed operation, then makes some of it hostile. */
const FIELDS: Record<string, string[]> = {
  initialize: ['name', 'plan', 'reset'],
  start_phase: ['phaseId', 'metadata', 'nextUpdateSeconds', 'runId'],
  update_phase: ['phaseId', 'progress', 'metadata', 'nextUpdateSeconds'],
  complete_phase: ['phaseId', 'metadata'],
  fail_phase: ['phaseId', 'error'],
  skip_phase: ['phaseId', 'reason'],
  start_subtask: ['phaseId', 'subTaskId', 'metadata', 'nextUpdateSeconds'],
  update_subtask: ['phaseId', 'subTaskId', 'progress', 'metadata', 'nextUpdateSeconds'],
  complete_subtask: ['phaseId', 'subTaskId'],
  fail_subtask: ['phaseId', 'subTaskId', 'error'],
  skip_subtask: ['phaseId', 'subTaskId', 'reason'],
  create_alert: ['severity', 'message', 'phaseId'],
  update_metrics: ['metrics', 'increment'],
  record_validation: ['verdict', 'checks', 'runId'],
  pause: ['reason'],
  resume: ['reason'],
  acknowledge_alert: ['alertId'],
};
const REAL_PHASES = PHASES.slice(0, 7);
const REAL_SUBTASKS = ['preflight', 'inventory', 'network', 'compute', 'storage', 'schema', 'bulk-copy', 'catch-up', 'embeddings', 'index-build'];

function goodField(r: Rand, field: string): unknown {
  switch (field) {
    case 'phaseId': return pick(r, REAL_PHASES);
    case 'subTaskId': return pick(r, REAL_SUBTASKS);
    case 'progress': return int(r, 0, 100);
    case 'metadata': return chance(r, 0.4) ? deepMarker(pick(r, [int(r, 1, 40), int(r, 1, 100), int(r, 3000, 8000)])) : object(r, int(r, 0, 3));
    case 'nextUpdateSeconds': return int(r, 1, 3600);
    case 'severity': return pick(r, ['info', 'warning', 'error', 'critical']);
    case 'metrics': return { errorRate: num(r), totalDataMigrated: num(r), resourceUtilization: { cpu: int(r, 0, 100) } };
    case 'increment': return { successfulOperations: int(r, 0, 100), totalDataMigrated: num(r) };
    case 'verdict': return pick(r, ['pass', 'fail']);
    case 'checks': return Array.from({ length: int(r, 0, 3) }, () => ({ name: str(r).slice(0, 50) || 'c', kind: 'row-count', passed: chance(r, 0.5), summary: 'ok' }));
    case 'plan': return Array.from({ length: int(r, 1, 3) }, (_, i) => ({ id: `p${i}`, name: `P${i}`, dependencies: i ? [`p${i - 1}`] : [], estimatedDuration: int(r, 1, 60), subTasks: [] }));
    case 'alertId': return pick(r, ['A1', 'A2', 'A3']);
    case 'reset': return chance(r, 0.5);
    default: return str(r).slice(0, 200) || 'text';
  }
}

/** A request body: a well-formed operation for a random action, some of its fields replaced by hostile values, sometimes a stray (prototype) key. */
function operation(r: Rand): Record<string, unknown> {
  const op: Record<string, unknown> = {};
  const set = (k: string, v: unknown) => Object.defineProperty(op, k, { value: v, enumerable: true, writable: true, configurable: true });
  const action = chance(r, 0.95) ? pick(r, Object.keys(FIELDS)) : pick(r, ['explode', '', '__proto__', 'constructor', 'sweep_staleness']);
  if (!chance(r, 0.03)) set('action', action);
  for (const f of Object.hasOwn(FIELDS, action) ? FIELDS[action]! : ['phaseId', 'metadata']) {
    if (chance(r, 0.2)) continue;
    set(f, chance(r, 0.8) ? goodField(r, f) : value(r, int(r, 0, 3)));
  }
  if (chance(r, 0.1)) set(chance(r, 0.6) ? pick(r, PROTO_KEYS) : str(r).slice(0, 40), object(r, 1));
  return op;
}

interface Case {
  server: 'api' | 'guarded';
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
  label: string;
}

const PATHS = [
  '/health', '/api/migrations', '/api/migration/progress', '/api/migration/estimate', '/api/migration/dashboard', '/api/migration/activity',
  '/api/migrations/:id/progress', '/api/migrations/:id/estimate', '/api/migrations/:id/dashboard', '/api/migrations/:id/activity',
  '/metrics', '/admin/migration', '/admin/migration/app.js', '/',
  '/api/migration/progress/', '//api/migration/progress', '/api/migrations/%E0%A4%A/progress', '/api/migrations/%00/progress', '/nothing',
];

const POST_PATHS = ['/api/migration/progress', '/api/migration/progress', '/api/migration/dashboard', '/api/migrations/:id/progress', '/api/migrations/:id/dashboard'];

function makeCase(r: Rand, n: number): Case {
  const method = chance(r, 0.85) ? pick(r, ['GET', 'POST', 'POST']) : pick(r, ['PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS', 'PROPFIND']);
  // most POSTs aim at the endpoints that take a body, so the body grammar reaches the tracker
  const route = method === 'POST' && chance(r, 0.85) ? pick(r, POST_PATHS) : pick(r, PATHS);
  let path = route.replace(':id', () => encodeURIComponent(chance(r, 0.7) ? pick(r, ['default', 'tenant-a']) : pick(r, IDS)));
  const q: string[] = [];
  if (chance(r, 0.15)) q.push(`migration=${encodeURIComponent(pick(r, IDS))}`);
  if (chance(r, 0.1)) q.push(`activity=${encodeURIComponent(pick(r, ['0', '50', '1000', '1001', '-1', 'abc', '1e3', '']))}`);
  if (chance(r, 0.1)) q.push(`limit=${encodeURIComponent(pick(r, ['1', '10000', '10001', '0', 'NaN', '2.5']))}`);
  if (chance(r, 0.1)) q.push(`since=${encodeURIComponent(pick(r, ['2026-01-01T00:00:00Z', 'yesterday', '', '99999-01-01']))}`);
  if (q.length) path += `?${q.join('&')}`;

  const headers: Record<string, string> = {};
  const auth = r();
  if (auth < 0.85) headers['authorization'] = `Bearer ${TOKEN}`;
  else if (auth < 0.92) headers['authorization'] = pick(r, ['Bearer wrong', 'Basic Zm9vOmJhcg==', 'Bearer ' + 'x'.repeat(5000), 'bearer ' + TOKEN]);
  if (chance(r, 0.3)) headers['idempotency-key'] = pick(r, ['k1', 'k2', 'k3', 'x'.repeat(256), 'caf\u00e9', `k-${n}`]);
  if (chance(r, 0.1)) headers['x-migration-id'] = pick(r, IDS.filter((i) => /^[\x20-\x7e]*$/.test(i)));
  if (chance(r, 0.1)) headers['x-actor'] = pick(r, ['alice', 'x'.repeat(101), 'caf\u00e9']);

  let body: Buffer | undefined;
  let label = `${method} ${path}`;
  if (method !== 'GET' && method !== 'HEAD' && chance(r, 0.95)) {
    const kind = int(r, 0, 19);
    let text: string;
    if (kind === 0) text = '['.repeat(int(r, 33, 20_000)) + ']'.repeat(int(r, 0, 3));
    else if (kind === 1) text = JSON.stringify({ action: 'create_alert', severity: 'info', message: 'x'.repeat(int(r, 200_000, 300_000)) });
    else if (kind === 2) text = pick(r, ['', ' ', 'null', '1', '"x"', '[]', '{', '{"action":', '\ufeff{"action":"pause"}', 'true']);
    else if (kind === 3) text = serialize(operation(r)).slice(0, int(r, 0, 40));
    else text = serialize(operation(r));
    const enc = int(r, 0, 11);
    if (enc === 0) {
      body = gzipSync(Buffer.from(text));
      headers['content-encoding'] = 'gzip';
    } else if (enc === 1) {
      body = Buffer.from(text, 'utf16le');
      headers['content-type'] = 'application/json; charset=utf-16le';
    } else if (enc === 2) body = Buffer.from(text, 'latin1');
    else body = Buffer.from(text);
    if (!headers['content-type']) {
      const ct = r();
      if (ct < 0.8) headers['content-type'] = 'application/json';
      else if (ct < 0.85) headers['content-type'] = 'application/json; charset=iso-8859-1';
      else if (ct < 0.9) headers['content-type'] = pick(r, ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']);
      else if (ct < 0.95) headers['content-type'] = 'application/merge-patch+json';
      // else: no content type at all
    }
    label += ` ${text.length > 120 ? `${text.slice(0, 120)}… (${text.length} chars)` : text}`;
  }
  const server = chance(r, 0.75) ? 'api' : 'guarded';
  return { server, method, path, headers, body, label: `#${n} [${server}] ${label}` };
}

function send(url: string, c: Case, agent: http.Agent, host?: string) {
  const u = new URL(url);
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
    const headers = { ...c.headers, ...(c.body ? { 'content-length': String(c.body.length) } : {}), ...(host ? { host } : {}) };
    const req = http.request({ host: u.hostname, port: u.port, method: c.method, path: c.path, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(c.body);
  });
}

describe('hostile fuzz of the tracker API over a real socket', () => {
  let api: RunningServer;
  let guarded: RunningServer;
  let tracker: Tracker;
  const serverErrors: unknown[] = [];
  beforeAll(async () => {
    tracker = new Tracker({ store: FileStore.inMemory(), clock: new ManualClock(Date.UTC(2026, 0, 1)) });
    await tracker.initialize('default', {});
    await tracker.initialize('tenant-a', { name: 'Tenant A' });
    // the bare API, and local mode's composition (dashboard, /metrics) behind its browser guard
    api = await serveHttp(trackerApi({ tracker, token: TOKEN, onServerError: (e) => serverErrors.push(e) }));
    const local = trackerApi({ tracker, token: TOKEN, extraRoutes: [...dashboardRoutes(), metricsRoute({ tracker, token: TOKEN })], onServerError: (e) => serverErrors.push(e) });
    guarded = await serveHttp(local, { browserGuard: true });
  });
  afterAll(async () => {
    await api?.close();
    await guarded?.close();
  });

  const snapshot = async () => {
    const ids = await tracker.list();
    const states = await Promise.all(ids.map(async (id) => JSON.stringify((await tracker.store.load(id))!.state)));
    return JSON.stringify([ids, states]);
  };

  it(`answers ${CASES} seeded hostile requests with no 5xx, and refusals change nothing`, async () => {
    const r = prng(SEED);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const protoBefore = Object.getOwnPropertyNames(Object.prototype).sort().join(',');
    const failures: string[] = [];
    const statuses = new Map<number, number>();
    let before = await snapshot();
    try {
      for (let n = 0; n < CASES; n++) {
        const c = makeCase(r, n);
        const target = c.server === 'api' ? api : guarded;
        const host = c.server === 'guarded' ? pick(r, [new URL(target.url).host, new URL(target.url).host, `localhost:${target.port}`, 'attacker.example', `attacker.example:${target.port}`]) : undefined;
        const res = await send(target.url, c, agent, host);
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        // /health answers 503 for an unhealthy migration (a failed phase): documented, not a fault
        const unhealthy = res.status === 503 && c.path.startsWith('/health') && (await tracker.health()).status === 'unhealthy';
        if (res.status >= 500 && !unhealthy) failures.push(`${res.status} for ${c.label}: ${res.body.slice(0, 300)}`);
        if (res.status >= 400 && c.method !== 'HEAD' && !unhealthy) {
          let err: { error?: { code?: unknown; message?: unknown } } | undefined;
          try {
            err = JSON.parse(res.body);
          } catch {
            failures.push(`non-JSON ${res.status} for ${c.label}: ${res.body.slice(0, 200)}`);
          }
          if (err && (typeof err.error?.code !== 'string' || typeof err.error?.message !== 'string' || !err.error.message)) {
            failures.push(`error without code/message (${res.status}) for ${c.label}: ${res.body.slice(0, 200)}`);
          }
        }
        const after = await snapshot();
        if (res.status >= 400 && !unhealthy && after !== before) failures.push(`refused with ${res.status} but the state changed: ${c.label}`);
        before = after;
        if (failures.length >= 10) break;
      }
    } finally {
      agent.destroy();
    }
    expect(failures).toEqual([]);
    expect(serverErrors).toEqual([]);
    expect(Object.getOwnPropertyNames(Object.prototype).sort().join(',')).toBe(protoBefore);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    // the grammar reaches both sides: plenty of acceptances and of each kind of refusal
    expect(statuses.get(200) ?? 0).toBeGreaterThan(30);
    for (const s of [400, 401, 404, 405, 413, 415]) expect(statuses.get(s) ?? 0).toBeGreaterThan(0);
  }, 600_000);
});
