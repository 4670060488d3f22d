/**
 * Status that agrees with the gate (issue 15, item 8), through the real HTTP API of the local tracker:
 * a failed validation makes the migration degraded (unhealthy when it is a gate), fails the validation
 * phase, and /health, the dashboard data, the report (badge and risks), CLI status and the Prometheus
 * health gauge all say the same; a failed phase is not completed by a stray operation or log line, only
 * restarted by an explicit retry, which the activity shows.
 */
import { FileStore } from '../../../lib/adapters/file/file-store';
import { serveHttp, type RunningServer } from '../../../lib/adapters/http/server';
import { TrackerClient, TrackerApiError } from '../../../lib/adapters/http/tracker-client';
import { httpReportSource } from '../../../lib/adapters/http/report-source';
import { metricsRoute } from '../../../lib/adapters/prometheus/metrics';
import { renderStatus } from '../../../lib/cli/commands/status';
import { runConfiguredValidation } from '../../../lib/compose/validation-runtime';
import { LogAnalyzer, parseLogWatchConfig, trackerSink } from '../../../lib/core/logwatch';
import { buildStatusReport } from '../../../lib/core/report/model';
import { render } from '../../../lib/core/report/render';
import { Tracker } from '../../../lib/core/tracker/service';
import { trackerApi } from '../../../lib/core/tracker/api';
import { validateConfig, type ValidationConfigInput } from '../../../lib/core/validation/config';
import { freePort } from '../../support/ports';

let server: RunningServer;
let tracker: Tracker;
let store: FileStore;
const TOKEN = 'tok';

beforeAll(async () => {
  store = FileStore.inMemory();
  tracker = new Tracker({ store });
  server = await serveHttp(trackerApi({ tracker, token: TOKEN, extraRoutes: [metricsRoute({ tracker, token: TOKEN })] }));
});
afterAll(async () => {
  await server?.close();
  await store?.close();
});

const client = (migrationId: string) => new TrackerClient({ url: server.url, token: TOKEN, migrationId, actor: 'gate-test', retries: 0 });
const plan = [
  { id: 'database', name: 'Database', estimatedDuration: 60 },
  { id: 'validation', name: 'Validation', estimatedDuration: 30, dependencies: ['database'] },
];

async function started(id: string) {
  const c = client(id);
  await c.initialize({ plan });
  await c.send({ action: 'start_phase', phaseId: 'database' });
  await c.send({ action: 'complete_phase', phaseId: 'database' });
  return c;
}

/** Two checks against the tracker's own port; `failing` points the second at a closed port. */
async function config(failing: boolean, extra: Partial<ValidationConfigInput> = {}) {
  const open = Number(new URL(server.url).port);
  const closed = await freePort();
  return validateConfig({
    checks: [
      { name: 'tracker-port', kind: 'tcp', host: '127.0.0.1', port: open },
      { name: 'db-port', kind: 'tcp', host: '127.0.0.1', port: failing ? closed : open },
    ],
    ...extra,
  });
}

async function get(path: string): Promise<{ status: number; body: Record<string, unknown> | string }> {
  const r = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  const text = await r.text();
  return { status: r.status, body: r.headers.get('content-type')?.includes('json') ? (JSON.parse(text) as Record<string, unknown>) : text };
}

/** Every place that shows health, read over HTTP the way each consumer reads it. */
async function everyHealth(id: string) {
  const health = await get(`/health?migration=${id}`);
  const dashboard = (await get(`/api/migrations/${id}/dashboard`)).body as { health: { status: string; reasons: string[] } };
  const overview = await client(id).overview<Parameters<typeof renderStatus>[0]>();
  const cli = renderStatus(overview, 'table');
  const source = httpReportSource({ url: server.url, token: TOKEN });
  const { state, activity } = await source.load(id, 0);
  const report = buildStatusReport({ state, activity, now: Date.now() });
  const markdown = render(report, 'markdown');
  const html = render(report, 'html');
  const metrics = (await get('/metrics')).body as string;
  return {
    httpStatus: health.status,
    health: (health.body as { status: string }).status,
    dashboard: dashboard.health.status,
    cli: /^Health: (\w+)/m.exec(cli)?.[1],
    report: report.summary.health,
    markdownBadge: /\*\*Health:\*\* (\w+)/.exec(markdown)?.[1],
    htmlBadge: /health: (\w+)/.exec(html)?.[1],
    // the health state whose series is 1 (a state is a label set in Prometheus)
    gauge: Object.keys(GAUGE).find((state) => sample(metrics, 'migration_health', { migration_id: id, state }) === 1),
    report_: report,
    reasons: dashboard.health.reasons,
  };
}

/** One sample of the Prometheus text format, by name and labels. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`).sort().join(',');
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (m && m[1] === name && (m[2] ?? '').split(',').sort().join(',') === want) return Number(m[3]);
  }
  return undefined;
}

const GAUGE = { healthy: 0, degraded: 1, unhealthy: 2 } as const;

function expectAllSay(h: Awaited<ReturnType<typeof everyHealth>>, status: keyof typeof GAUGE) {
  expect({ health: h.health, dashboard: h.dashboard, cli: h.cli, report: h.report, markdownBadge: h.markdownBadge, htmlBadge: h.htmlBadge, gauge: h.gauge }).toEqual({
    health: status,
    dashboard: status,
    cli: status,
    report: status,
    markdownBadge: status,
    htmlBadge: status,
    gauge: status,
  });
  expect(h.httpStatus).toBe(status === 'unhealthy' ? 503 : 200);
  // the badge agrees with the risks: nothing critical under a healthy or degraded badge
  const levels = h.report_.risks.map((r) => r.level);
  if (status !== 'unhealthy') expect(levels).not.toContain('critical');
  else expect(levels).toContain('critical');
}

describe('a failed validation through the real tracker API', () => {
  it('makes the migration degraded (not a gate) and the validation phase failed, everywhere at once', async () => {
    const c = await started('g1');
    expectAllSay(await everyHealth('g1'), 'healthy');
    const report = await runConfiguredValidation(await config(true), { tracker: { client: c, url: server.url, migrationId: 'g1' } });
    expect(report.verdict).toBe('fail');
    expect(report.tracker!.problems).toEqual([]);
    const s = await tracker.get('g1');
    expect(s.phases[1]).toMatchObject({ id: 'validation', status: 'failed', error: expect.stringMatching(/validation .*failed: db-port/) });
    const h = await everyHealth('g1');
    expectAllSay(h, 'degraded');
    expect(h.reasons.join('\n')).toMatch(/validation run .* failed: db-port/);
    expect(h.report_.risks.find((r) => r.kind === 'validation')).toMatchObject({ level: 'high' });
  });

  it('is unhealthy (503) when the run is a gate, and the report says so with a critical risk', async () => {
    const c = await started('g2');
    await runConfiguredValidation(await config(true, { options: { gate: true } }), { tracker: { client: c, url: server.url, migrationId: 'g2' } });
    const h = await everyHealth('g2');
    expectAllSay(h, 'unhealthy');
    expect(h.reasons.join('\n')).toMatch(/cutover gate/);
    expect(h.report_.risks.find((r) => r.kind === 'validation')).toMatchObject({ level: 'critical' });
  });

  it('one check marked as a gate is enough; a failing check that is not a gate leaves it degraded', async () => {
    const c = await started('g3');
    const cfg = await config(true);
    (cfg.checks[1] as { gate?: boolean }).gate = true;
    await runConfiguredValidation(cfg, { tracker: { client: c, url: server.url, migrationId: 'g3' } });
    expectAllSay(await everyHealth('g3'), 'unhealthy');

    const c4 = await started('g4');
    const cfg4 = await config(true);
    (cfg4.checks[0] as { gate?: boolean }).gate = true; // the gate check passes, the failing one is advisory
    await runConfiguredValidation(cfg4, { tracker: { client: c4, url: server.url, migrationId: 'g4' } });
    expectAllSay(await everyHealth('g4'), 'degraded');
  });

  it('after a FAIL, completing the phase is refused (409, nothing changes); an explicit retry and a PASS complete it and clear health', async () => {
    const c = await started('g5');
    await runConfiguredValidation(await config(true, { options: { gate: true } }), { tracker: { client: c, url: server.url, migrationId: 'g5' } });
    const before = await tracker.get('g5');
    const refused = await c.send({ action: 'complete_phase', phaseId: 'validation' }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(TrackerApiError);
    expect(refused).toMatchObject({ status: 409, message: expect.stringMatching(/phase "validation" failed .*start it again \(an explicit retry\)/) });
    const progress = await c.send({ action: 'update_phase', phaseId: 'validation', progress: 50 }).catch((e: unknown) => e);
    expect(progress).toMatchObject({ status: 409 });
    expect((await tracker.get('g5')).phases[1]).toEqual(before.phases[1]);

    // the validation run itself retries the failed phase (start again), and a pass completes it
    const report = await runConfiguredValidation(await config(false, { options: { gate: true } }), { tracker: { client: c, url: server.url, migrationId: 'g5' } });
    expect(report.verdict).toBe('pass');
    expect(report.tracker!.phaseStatus).toMatch(/^retried.*completed \(verdict pass\)$/);
    const s = await tracker.get('g5');
    expect(s.phases[1]).toMatchObject({ status: 'completed', progress: 100, attempts: 2 });
    const activity = await store.readActivity('g5');
    const retry = activity.find((a) => a.action === 'phase.retry')!;
    // the actor is the authenticated identity (the bearer token's), X-Actor is recorded as on-behalf-of
    expect(retry).toMatchObject({ phaseId: 'validation', actor: 'token', onBehalfOf: 'gate-test' });
    expect(retry.message).toMatch(/started \(attempt 2\): an explicit retry after it failed: validation .*failed: db-port/);
    expectAllSay(await everyHealth('g5'), 'healthy');
  });

  it('a validation phase with completePhaseOnPass: false stays running after a pass, and still fails on a FAIL', async () => {
    const c = await started('g6');
    await runConfiguredValidation(await config(false, { tracker: { completePhaseOnPass: false } }), { tracker: { client: c, url: server.url, migrationId: 'g6' } });
    expect((await tracker.get('g6')).phases[1]!.status).toBe('in_progress');
    await runConfiguredValidation(await config(true, { tracker: { completePhaseOnPass: false } }), { tracker: { client: c, url: server.url, migrationId: 'g6' } });
    expect((await tracker.get('g6')).phases[1]!.status).toBe('failed');
  });

  it('record_validation naming a phase that is not running changes no phase and says so; bad input is a 400 naming the field', async () => {
    const c = await started('g7');
    const r = await c.send({ action: 'record_validation', verdict: 'fail', phaseId: 'validation', checks: [{ name: 'x', kind: 'diff', passed: false, summary: '3 missing' }] });
    expect(r).toMatchObject({ verdict: 'fail', phase: { id: 'validation', status: 'pending', changed: false } });
    expect((await tracker.get('g7')).phases[1]!.status).toBe('pending');
    const bad = await c.send({ action: 'record_validation', verdict: 'fail', gate: 'yes', checks: [] } as never).catch((e: unknown) => e);
    expect(bad).toMatchObject({ status: 400, message: expect.stringMatching(/gate/) });
    const unknown = await c.send({ action: 'record_validation', verdict: 'fail', phaseId: 'nope', checks: [] }).catch((e: unknown) => e);
    expect(unknown).toMatchObject({ status: 404 });
  });
});

describe('a log line never completes a failed phase', () => {
  const restore = (m: string) => [
    `2026-12-02T06:00:00Z INFO restore Migration started migration_id=${m} phase=bulk-copy run_id=r1`,
    `2026-12-02T06:00:05Z ERROR restore Migration failed migration_id=${m} phase=bulk-copy run_id=r1 error="pg_restore: error: could not execute query: ERROR: relation public.item_tags does not exist"`,
    `2026-12-02T06:00:09Z INFO restore Migration completed migration_id=${m} phase=bulk-copy run_id=r1`,
  ];

  it('pg_restore: a schema error then a "completed" line ends failed, the completion refused with a reason', async () => {
    const analyzer = new LogAnalyzer({ sink: trackerSink(tracker), config: parseLogWatchConfig({ autoInitialize: true }) });
    const out = [];
    for (const [i, text] of restore('pgr').entries()) out.push(await analyzer.process({ text, source: 'restore.log', key: `restore.log:${i}` }));
    expect(out).toEqual(['applied', 'applied', 'rejected']);
    const s = await tracker.get('pgr');
    expect(s.phases[0]).toMatchObject({ id: 'bulk-copy', status: 'failed', attempts: 1, error: expect.stringMatching(/relation public.item_tags does not exist/) });
    expect(analyzer.recentRejections().at(-1)!.reason).toMatch(/phase "bulk-copy" failed .*a start line \(an explicit retry\)/);
    expect((await tracker.health('pgr')).status).toBe('unhealthy');
  });

  it('a start line for the failed phase is an explicit retry: recorded as such, and then a completion is accepted', async () => {
    const analyzer = new LogAnalyzer({ sink: trackerSink(tracker), config: parseLogWatchConfig({ autoInitialize: true }) });
    const lines = [
      ...restore('pgr2'),
      '2026-12-02T06:10:00Z INFO restore Migration started migration_id=pgr2 phase=bulk-copy run_id=r1',
      '2026-12-02T06:10:09Z INFO restore Migration completed migration_id=pgr2 phase=bulk-copy run_id=r1',
    ];
    const out = [];
    for (const [i, text] of lines.entries()) out.push(await analyzer.process({ text, source: 'restore.log', key: `restore.log:${i}` }));
    expect(out).toEqual(['applied', 'applied', 'rejected', 'applied', 'applied']);
    expect((await tracker.get('pgr2')).phases[0]).toMatchObject({ status: 'completed', attempts: 2 });
    const actions = (await store.readActivity('pgr2')).map((a) => a.action);
    expect(actions.filter((a) => a.startsWith('phase.'))).toEqual(['phase.start', 'phase.fail', 'phase.retry', 'phase.complete']);
  });
});
