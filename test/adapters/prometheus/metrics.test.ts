import { FileStore } from '../../../lib/adapters/file/file-store';
import { serveHttp, type RunningServer } from '../../../lib/adapters/http/server';
import { PrometheusSink } from '../../../lib/adapters/prometheus/sink';
import { metricsRoute } from '../../../lib/adapters/prometheus/metrics';
import { ManualClock } from '../../../lib/core/clock';
import { router } from '../../../lib/core/http';
import { LogAnalyzer, trackerSink } from '../../../lib/core/logwatch';
import { Tracker } from '../../../lib/core/tracker/service';
import { trackerApi } from '../../../lib/core/tracker/api';
import { feed, fixture, readLines } from '../../core/logwatch/helpers';
import { expectPromtoolClean, parseExposition } from '../../support/prometheus';

let srv: RunningServer | undefined;
afterEach(async () => {
  await srv?.close();
  srv = undefined;
});

async function scrape(url: string, token?: string) {
  const res = await fetch(`${url}/metrics`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
}

describe('GET /metrics on the tracker API', () => {
  it('renders state gauges, phase durations, counters and events copied/total after a log replay', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 10));
    const tracker = new Tracker({ store: FileStore.inMemory(), clock });
    srv = await serveHttp(trackerApi({ tracker, token: 't', extraRoutes: [metricsRoute({ tracker, token: 't' })] }));
    const analyzer = new LogAnalyzer({ sink: trackerSink(tracker), clock });
    await feed(analyzer, readLines(fixture('plain.log')), 'app.log', clock);
    await tracker.initialize('idle', {});

    expect((await scrape(srv.url)).status).toBe(401);
    const r = await scrape(srv.url, 't');
    expect(r.status).toBe(200);
    expect(r.type).toBe('text/plain; version=0.0.4; charset=utf-8');
    const p = parseExposition(r.text);
    const m = { migration_id: 'mig-1' };
    // states as label sets: 1 on the current state, 0 on every other
    expect(p.get('migration_state', { ...m, state: 'completed' })).toBe(1);
    expect(p.get('migration_state', { ...m, state: 'in_progress' })).toBe(0);
    expect(p.get('migration_state', { migration_id: 'idle', state: 'not_started' })).toBe(1);
    expect([...p.samples.keys()].filter((k) => k.startsWith('migration_state{') && k.includes('migration_id="mig-1"'))).toHaveLength(6);
    expect(['healthy', 'degraded', 'unhealthy'].map((state) => p.get('migration_health', { ...m, state })).reduce((a, b) => a! + b!, 0)).toBe(1);
    expect(p.get('migration_state', m)).toBeUndefined();
    // ratios 0-1
    expect(p.get('migration_progress_ratio', m)).toBe(1);
    expect(p.get('migration_phase_progress_ratio', { ...m, phase: 'cutover' })).toBe(1);
    // Started on line 1, completed on line 5 of the replay; the clock moves 1 s per line: timestamps, not elapsed seconds.
    const t0 = Date.UTC(2026, 0, 1, 10) / 1000;
    const start = p.get('migration_phase_start_timestamp_seconds', { ...m, phase: 'bulk-copy' })!;
    expect(start).toBeGreaterThanOrEqual(t0);
    expect(p.get('migration_phase_end_timestamp_seconds', { ...m, phase: 'bulk-copy' })! - start).toBe(4);
    expect(p.types.get('migration_duration_seconds')).toBeUndefined();
    expect(p.get('migration_phase_started_total', { ...m, phase: 'bulk-copy' })).toBe(1);
    expect(p.get('migration_phase_completed_total', { ...m, phase: 'cutover' })).toBe(1);
    expect(p.get('migration_phase_failed_total', { ...m, phase: 'cutover' })).toBe(0);
    expect(p.get('migration_phase_failed_total', { migration_id: 'idle', phase: 'apis' })).toBe(0);
    expect(p.get('migration_alerts_total', { ...m, severity: 'error' })).toBe(1);
    expect(p.get('migration_alerts_total', { ...m, severity: 'critical' })).toBe(0);
    expect(p.get('migration_events_copied_total', { ...m, tenant_id: 't-1' })).toBe(10000);
    expect(p.get('migration_events_to_copy', { ...m, tenant_id: 't-1' })).toBe(10000);
    // 2 failed writes against the 10,000 copied events the log counted as successes (not 100 % as before)
    expect(p.get('migration_error_ratio', m)).toBeCloseTo(0.0002, 7);
    expect(p.get('migration_validation_failures_total')).toBe(1);
    expect(p.get('migration_progress_updates_total', m)).toBeGreaterThanOrEqual(9);
    expect(p.types.get('migration_events_copied_total')).toBe('counter');
    expectPromtoolClean(r.text);
    // one application prefix on every product metric
    expect([...p.types.keys()].filter((n) => !n.startsWith('migration_'))).toEqual([]);
  });

  it('recomputes gauges from the store at each scrape (a running phase\'s duration grows; a restarted process starts right)', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 10));
    const store = FileStore.inMemory();
    const first = new Tracker({ store, clock });
    await first.initialize('m', {});
    await first.apply('m', { action: 'start_phase', phaseId: 'initialization' });
    clock.advance(90_000);
    // A new process over the same store: no change seen, gauges still right, counters start at 0.
    const second = new Tracker({ store, clock });
    srv = await serveHttp(router([metricsRoute({ tracker: second })]));
    let p = parseExposition((await scrape(srv.url)).text);
    expect(p.get('migration_phase_start_timestamp_seconds', { migration_id: 'm', phase: 'initialization' })).toBe(Date.UTC(2026, 0, 1, 10) / 1000);
    expect(p.get('migration_phase_end_timestamp_seconds', { migration_id: 'm', phase: 'initialization' })).toBeUndefined();
    expect(p.get('migration_phases_running', { migration_id: 'm' })).toBe(1);
    expect(p.get('migration_state', { migration_id: 'm', state: 'in_progress' })).toBe(1);
    expect(p.get('migration_phase_started_total', { migration_id: 'm', phase: 'initialization' })).toBe(0);
    clock.advance(30_000);
    await second.apply('m', { action: 'update_phase', phaseId: 'initialization', progress: 50 }).catch(() => undefined);
    await second.apply('m', { action: 'pause' });
    p = parseExposition((await scrape(srv.url)).text);
    expect(p.get('migration_state', { migration_id: 'm', state: 'paused' })).toBe(1);
    expect(p.get('migration_state', { migration_id: 'm', state: 'in_progress' })).toBe(0);
    expect(p.get('migration_control_events_total', { migration_id: 'm', event: 'pause' })).toBe(1);
  });
});

describe('GET /metrics: data, resources and cost', () => {
  it('exports data migrated as a counter (rate() is the throughput) and only the resource and cost figures reported, cost with its currency', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 10));
    const store = FileStore.inMemory();
    const tracker = new Tracker({ store, clock });
    await tracker.initialize('m', {});
    srv = await serveHttp(router([metricsRoute({ tracker })]));
    let p = parseExposition((await scrape(srv.url)).text);
    const m = { migration_id: 'm' };
    expect(p.types.get('migration_data_migrated_bytes_total')).toBe('counter');
    expect(p.get('migration_data_migrated_bytes_total', m)).toBe(0);
    // never reported: absent, not a made-up 0
    for (const n of ['migration_cost', 'migration_cost_per_gigabyte', 'migration_network_bytes_per_second', 'migration_storage_bytes', 'migration_cpu_utilization_ratio']) {
      expect([n, [...p.samples.keys()].some((k) => k.startsWith(`${n}{`))]).toEqual([n, false]);
    }
    await tracker.apply('m', { action: 'update_metrics', increment: { totalDataMigrated: 5_000 } });
    await tracker.apply('m', {
      action: 'update_metrics',
      increment: { totalDataMigrated: 7_000 },
      metrics: { resourceUtilization: { network: 1_048_576, storage: 2e9, cpu: 40 }, costMetrics: { actualCost: 12.5, costPerGB: 0.02, currency: 'EUR' } },
    });
    const text = (await scrape(srv.url)).text;
    expectPromtoolClean(text);
    p = parseExposition(text);
    expect(p.get('migration_data_migrated_bytes_total', m)).toBe(12_000);
    expect(p.get('migration_network_bytes_per_second', m)).toBe(1_048_576);
    expect(p.get('migration_storage_bytes', m)).toBe(2e9);
    expect(p.get('migration_cpu_utilization_ratio', m)).toBe(0.4);
    expect(p.get('migration_cost', { ...m, currency: 'EUR' })).toBe(12.5);
    expect(p.get('migration_cost_per_gigabyte', { ...m, currency: 'EUR' })).toBe(0.02);
    expect([...p.samples.keys()].some((k) => k.startsWith('migration_estimated_cost{'))).toBe(false);
    expect([...p.samples.keys()].some((k) => k.startsWith('migration_memory_utilization_ratio{'))).toBe(false);
    // a new process over the same store: the counter carries on from the stored total, it does not restart at 0
    const again = new Tracker({ store, clock });
    await srv.close();
    srv = await serveHttp(router([metricsRoute({ tracker: again })]));
    expect(parseExposition((await scrape(srv.url)).text).get('migration_data_migrated_bytes_total', m)).toBe(12_000);
  });
});

describe('GET /metrics on the log watcher', () => {
  it('exports what only the logs show: dual-write failures, cutover pauses, violations, events copied', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 10));
    const tracker = new Tracker({ store: FileStore.inMemory(), clock });
    const sink = new PrometheusSink();
    const analyzer = new LogAnalyzer({ sink: trackerSink(tracker), clock, observations: sink });
    await feed(analyzer, [...readLines(fixture('plain.log')), ...readLines(fixture('json.log'))], 'x.log', clock);
    srv = await serveHttp(router([metricsRoute({ sink })]));
    const text = (await scrape(srv.url)).text;
    expectPromtoolClean(text);
    const p = parseExposition(text);
    expect(p.get('migration_dual_write_target_failures_total', { tenant_id: 't-1' })).toBe(2);
    expect(p.get('migration_dual_write_target_failures_total', { tenant_id: 't-2' })).toBe(1);
    expect(p.get('migration_verification_violations_total', { violation_type: 'checksum' })).toBe(3);
    expect(p.get('migration_cutover_pause_duration_seconds_count', { migration_id: 'mig-2' })).toBe(1);
    expect(p.get('migration_cutover_pause_duration_seconds_sum', { migration_id: 'mig-2' })).toBe(30);
    expect(p.get('migration_events_copied_total', { migration_id: 'mig-1', tenant_id: 't-1' })).toBe(10000);
    expect(p.get('migration_events_copied_total', { migration_id: 'mig-2', tenant_id: 't-2' })).toBe(8000);
    expect(p.get('migration_events_to_copy', { migration_id: 'mig-2', tenant_id: 't-2' })).toBe(8000);
  });
});
