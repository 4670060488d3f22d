import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FileStore } from '../../../lib/adapters/file/file-store';
import { serveHttp, type RunningServer } from '../../../lib/adapters/http/server';
import { ManualClock } from '../../../lib/core/clock';
import { HISTORY_MAX_POINTS, HISTORY_TIERS } from '../../../lib/core/history';
import { trackerApi } from '../../../lib/core/tracker/api';
import { Tracker } from '../../../lib/core/tracker/service';

const SEC = 1000;
const plan = [
  { id: 'a', name: 'A', estimatedDuration: 60 },
  { id: 'b', name: 'B', estimatedDuration: 60, dependencies: ['a'] },
];
const T0 = Date.UTC(2026, 10, 24, 8);

async function setup(store = FileStore.inMemory()) {
  const clock = new ManualClock(T0);
  const tracker = new Tracker({ store, clock });
  await tracker.initialize('m', { plan });
  return { clock, tracker, store };
}

describe('migration history', () => {
  it('records at most one point per 10 s bucket (the downsampling), plus every state change', async () => {
    const { tracker, clock, store } = await setup();
    await tracker.apply('m', { action: 'start_phase', phaseId: 'a' }); // state change: a point
    for (let i = 1; i <= 50; i++) {
      clock.advance(SEC); // 50 updates over 50 s
      await tracker.apply('m', { action: 'update_phase', phaseId: 'a', progress: i });
      await tracker.apply('m', { action: 'update_metrics', increment: { totalDataMigrated: 1e6 } });
    }
    const fine = await store.readHistory('m', '10s');
    expect(fine.length).toBeLessThanOrEqual(7); // 50 s = 5-6 buckets
    expect(fine.length).toBeGreaterThanOrEqual(5);
    clock.advance(SEC);
    await tracker.apply('m', { action: 'complete_phase', phaseId: 'a' }); // same bucket, but a state change: written
    const last = (await store.readHistory('m', '10s')).at(-1)!;
    expect(last.phases['a']).toBe(100);
    expect(last.status).toBe('in_progress');
  });

  it('serves GET /api/migration/history?from&to&step with throughput between points; refuses bad queries with 400', async () => {
    const { tracker, clock } = await setup();
    const srv: RunningServer = await serveHttp(trackerApi({ tracker, defaultMigrationId: 'm' }));
    try {
      await tracker.apply('m', { action: 'start_phase', phaseId: 'a' });
      for (let i = 1; i <= 30; i++) {
        clock.advance(10 * SEC);
        await tracker.apply('m', { action: 'update_phase', phaseId: 'a', progress: i * 3 });
        await tracker.apply('m', { action: 'update_metrics', increment: { totalDataMigrated: 10e6 }, metrics: { errorRate: i % 7 } });
      }
      const get = async (q: string) => {
        const r = await fetch(`${srv.url}/api/migration/history${q}`);
        return { status: r.status, json: await r.json() };
      };
      const all = await get('');
      expect(all.status).toBe(200);
      expect(all.json.points.length).toBe(31);
      expect(all.json.bound.maxPoints).toBe(HISTORY_MAX_POINTS);
      const p = all.json.points.at(-1);
      expect(p).toMatchObject({ overall: 45, bytes: 300e6, errorRate: 30 % 7 });
      expect(p.throughput).toBe(1e6); // 10 MB per 10 s
      expect(Date.parse(p.eta)).toBeGreaterThan(clock.now());
      expect(Date.parse(p.etaLow)).toBeLessThan(Date.parse(p.etaHigh));
      const coarse = await get(`?from=${new Date(T0).toISOString()}&to=${new Date(clock.now()).toISOString()}&step=1m`);
      expect(coarse.json.stepSeconds).toBe(60);
      expect(coarse.json.points.length).toBe(6); // 300 s at 1 min: the last point of each minute
      expect(coarse.json.points.at(-1).bytes).toBe(300e6);
      const since = await get(`?from=${new Date(clock.now() - 60 * SEC).toISOString()}`);
      expect(since.json.points.length).toBe(7);
      for (const [q, msg] of [
        ['?step=5', /at least 10s/],
        ['?step=fast', /step must be/],
        ['?from=yesterday', /from/],
        [`?from=${new Date(clock.now()).toISOString()}&to=${new Date(T0).toISOString()}`, /must be before/],
        [`?from=${new Date(T0 - 90 * 86400_000).toISOString()}&step=10s`, /more than 2000 points/],
        ['?colour=red', /unrecognized|colour/i],
      ] as const) {
        const r = await get(q);
        expect([q, r.status]).toEqual([q, 400]);
        expect(r.json.error.message).toMatch(msg);
      }
      expect((await fetch(`${srv.url}/api/migrations/nope/history`)).status).toBe(404);
    } finally {
      await srv.close();
    }
  });

  it('falls back to coarser tiers where the fine ring has been overwritten', async () => {
    const { tracker, clock } = await setup();
    await tracker.apply('m', { action: 'start_phase', phaseId: 'a' });
    const fine = HISTORY_TIERS[0]!;
    for (let i = 1; i <= 100; i++) {
      clock.advance(60 * SEC); // 100 minutes: the 10 s ring holds the last hour only
      await tracker.apply('m', { action: 'update_phase', phaseId: 'a', progress: i * 0.9 });
    }
    const h = await tracker.history('m', { step: '2m', from: new Date(T0).toISOString() });
    expect(h.points.length).toBe(51); // 100 min at 2 min steps, back to the start
    expect(Date.parse(h.points[0]!.t!)).toBeLessThan(clock.now() - fine.slots * fine.stepMs);
  });

  it('survives a restart of the embedded store', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mm-history-'));
    try {
      const { tracker, clock, store } = await setup(await FileStore.open(dir));
      await tracker.apply('m', { action: 'start_phase', phaseId: 'a' });
      clock.advance(20 * SEC);
      await tracker.apply('m', { action: 'update_phase', phaseId: 'a', progress: 10 });
      const before = await store.readHistory('m', '10s');
      await store.close();
      const again = await FileStore.open(dir);
      expect(await again.readHistory('m', '10s')).toEqual(before);
      expect(before).toHaveLength(2);
      await again.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
