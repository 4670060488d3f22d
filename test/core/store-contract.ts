import { ManualClock } from '../../lib/core/clock';
import type { ProgressStore } from '../../lib/core/store';
import { Tracker, newMigration } from '../../lib/core/tracker/service';
import { DEFAULT_PLAN } from '../../lib/core/plan';
import type { ActivityEntry } from '../../lib/core/model';
import { HISTORY_TIERS, historyPointOf, historyWrites } from '../../lib/core/history';

export interface StoreFixture {
  store: ProgressStore;
  /** Another handle on the same data (another process/instance), when the backend allows one. */
  reopen?: () => Promise<ProgressStore>;
  cleanup(): Promise<void>;
}

const entry = (at: number, message: string, version?: number): ActivityEntry => ({ at, actor: 'test', action: 'test', message, version });

/**
 * The store contract: every ProgressStore adapter (embedded, Redis, DynamoDB) runs this suite.
 * Call it at the top level of a test file.
 */
export function describeStoreContract(name: string, factory: () => Promise<StoreFixture>): void {
  describe(`ProgressStore contract: ${name}`, () => {
    let fx: StoreFixture;
    beforeEach(async () => {
      fx = await factory();
    });
    afterEach(async () => {
      await fx.cleanup();
    });

    it('returns null for an unknown migration and lists nothing at first', async () => {
      expect(await fx.store.load('nope')).toBeNull();
      expect(await fx.store.listMigrations()).toEqual([]);
      expect(await fx.store.readActivity('nope')).toEqual([]);
      expect(await fx.store.getIdempotency('nope', 'k')).toBeNull();
    });

    it('creates with expectedVersion 0 exactly once and bumps the version on each commit', async () => {
      const s = newMigration('m1', 'M1', DEFAULT_PLAN, 1000);
      const a = await fx.store.commit({ migrationId: 'm1', expectedVersion: 0, state: s, activity: [] });
      expect(a.ok).toBe(true);
      await a.durable;
      const b = await fx.store.commit({ migrationId: 'm1', expectedVersion: 0, state: { ...s, name: 'other' }, activity: [] });
      expect(b.ok).toBe(false);
      const loaded = await fx.store.load('m1');
      expect(loaded?.version).toBe(1);
      expect(loaded?.state.name).toBe('M1');
      const c = await fx.store.commit({ migrationId: 'm1', expectedVersion: 1, state: { ...s, name: 'M1b' }, activity: [] });
      expect(c.ok).toBe(true);
      await c.durable;
      expect((await fx.store.load('m1'))?.version).toBe(2);
      expect((await fx.store.load('m1'))?.state.name).toBe('M1b');
    });

    it('refuses a stale expectedVersion and changes nothing', async () => {
      const s = newMigration('m1', 'M1', DEFAULT_PLAN, 1000);
      await (await fx.store.commit({ migrationId: 'm1', expectedVersion: 0, state: s, activity: [] })).durable;
      await (await fx.store.commit({ migrationId: 'm1', expectedVersion: 1, state: { ...s, name: 'v2' }, activity: [entry(1, 'a', 2)] })).durable;
      const stale = await fx.store.commit({ migrationId: 'm1', expectedVersion: 1, state: { ...s, name: 'lost' }, activity: [entry(2, 'b', 2)] });
      expect(stale.ok).toBe(false);
      expect((await fx.store.load('m1'))?.state.name).toBe('v2');
      expect((await fx.store.readActivity('m1')).map((e) => e.message)).toEqual(['a']);
    });

    it('keeps activity in order, with since and limit (newest N, oldest first)', async () => {
      const s = newMigration('m1', 'M1', DEFAULT_PLAN, 1000);
      let v = 0;
      for (let i = 0; i < 30; i++) {
        const r = await fx.store.commit({ migrationId: 'm1', expectedVersion: v, state: s, activity: [entry(1000 + i * 10, `e${i}`, v + 1)] });
        expect(r.ok).toBe(true);
        await r.durable;
        v++;
      }
      const all = await fx.store.readActivity('m1');
      expect(all.map((e) => e.message)).toEqual(Array.from({ length: 30 }, (_, i) => `e${i}`));
      expect((await fx.store.readActivity('m1', { limit: 3 })).map((e) => e.message)).toEqual(['e27', 'e28', 'e29']);
      expect((await fx.store.readActivity('m1', { since: 1000 + 25 * 10 })).map((e) => e.message)).toEqual(['e25', 'e26', 'e27', 'e28', 'e29']);
      expect((await fx.store.readActivity('m1', { since: 1000 + 25 * 10, limit: 2 })).map((e) => e.message)).toEqual(['e28', 'e29']);
    });

    it('stores an idempotency record with the commit and refuses a second commit with the same key', async () => {
      const s = newMigration('m1', 'M1', DEFAULT_PLAN, 1000);
      const rec = { key: 'k1', requestHash: 'h', response: { ok: true, n: 1 }, createdAt: 1000 };
      await (await fx.store.commit({ migrationId: 'm1', expectedVersion: 0, state: s, activity: [], idempotency: rec })).durable;
      expect(await fx.store.getIdempotency('m1', 'k1')).toEqual(rec);
      expect(await fx.store.getIdempotency('m2', 'k1')).toBeNull();
      const again = await fx.store.commit({ migrationId: 'm1', expectedVersion: 1, state: s, activity: [], idempotency: { ...rec, response: { n: 2 } } });
      expect(again.ok).toBe(false);
      expect((await fx.store.load('m1'))?.version).toBe(1);
      expect(await fx.store.getIdempotency('m1', 'k1')).toEqual(rec);
    });

    it('answers an idempotency record only once the commit that stored it is durable (a replay never outruns the original)', async () => {
      const s = newMigration('m1', 'M1', DEFAULT_PLAN, 1000);
      const rec = { key: 'k-race', requestHash: 'h', response: { ok: true }, createdAt: 1000 };
      const c = await fx.store.commit({ migrationId: 'm1', expectedVersion: 0, state: s, activity: [entry(1000, 'x', 1)], idempotency: rec });
      expect(c.ok).toBe(true);
      let durable = false;
      void c.durable.then(() => (durable = true));
      // asked before the commit's durability settled (the embedded store fsyncs on a later turn)
      const seen = await fx.store.getIdempotency('m1', 'k-race');
      expect(seen).toEqual(rec);
      expect(durable).toBe(true);
    });

    it('keeps a refusal under an Idempotency-Key, so a replay gets the same refusal after the state moved on', async () => {
      const t = new Tracker({ store: fx.store });
      await t.initialize('m', {});
      await t.apply('m', { action: 'pause' });
      const op = { action: 'start_phase', phaseId: 'initialization' } as const;
      const first = await t.apply('m', op, { idempotencyKey: 'refused' }).catch((e: unknown) => e);
      expect(first).toMatchObject({ code: 'paused', replayed: false });
      await t.apply('m', { action: 'resume' });
      const other = new Tracker({ store: fx.reopen ? await fx.reopen() : fx.store });
      const replay = await other.apply('m', op, { idempotencyKey: 'refused' }).catch((e: unknown) => e);
      expect(replay).toMatchObject({ code: 'paused', message: (first as Error).message, replayed: true });
      expect((await fx.store.load('m'))?.state.phases[0]?.status).toBe('pending');
      if (other.store !== fx.store) await other.store.close();
    });

    it('holds several migrations side by side', async () => {
      for (const id of ['tenant-b', 'tenant-a']) {
        await (await fx.store.commit({ migrationId: id, expectedVersion: 0, state: newMigration(id, id, DEFAULT_PLAN, 1), activity: [] })).durable;
      }
      expect([...(await fx.store.listMigrations())].sort()).toEqual(['tenant-a', 'tenant-b']);
      expect((await fx.store.load('tenant-a'))?.state.id).toBe('tenant-a');
    });

    it('loses no update with 50 concurrent writers on one migration', async () => {
      const clock = new ManualClock();
      const stores: ProgressStore[] = [fx.store];
      if (fx.reopen) for (let i = 0; i < 4; i++) stores.push(await fx.reopen());
      // separate Tracker instances = separate processes: no shared in-process lock, only the store's CAS
      const trackers = Array.from({ length: 50 }, (_, i) => new Tracker({ store: stores[i % stores.length]!, clock, maxRetries: 500 }));
      await trackers[0]!.initialize('busy', {});
      const perWriter = 6;
      await Promise.all(
        trackers.map(async (t, w) => {
          for (let i = 0; i < perWriter; i++) {
            await t.apply('busy', { action: 'update_metrics', increment: { successfulOperations: 1, totalDataMigrated: 10 } }, { actor: `w${w}` });
          }
        }),
      );
      const final = await fx.store.load('busy');
      expect(final?.state.metrics.successfulOperations).toBe(50 * perWriter);
      expect(final?.state.metrics.totalDataMigrated).toBe(50 * perWriter * 10);
      expect(final?.version).toBe(1 + 50 * perWriter);
      const activity = await fx.store.readActivity('busy');
      expect(activity.filter((a) => a.action === 'metrics.update')).toHaveLength(50 * perWriter);
      for (const s of stores.slice(1)) await s.close();
    });

    it('applies a request with an Idempotency-Key once, even when replayed concurrently', async () => {
      const t1 = new Tracker({ store: fx.store });
      const t2 = new Tracker({ store: fx.reopen ? await fx.reopen() : fx.store });
      await t1.initialize('m', {});
      const op = { action: 'update_metrics', increment: { failedOperations: 1 } } as const;
      const results = await Promise.all([t1, t2, t1, t2].map((t) => t.apply('m', op, { idempotencyKey: 'same-key' })));
      expect(results.filter((r) => !r.replayed)).toHaveLength(1);
      expect(new Set(results.map((r) => JSON.stringify(r.result))).size).toBe(1);
      expect((await fx.store.load('m'))?.state.metrics.failedOperations).toBe(1);
      if (t2.store !== fx.store) await t2.store.close();
    });

    it('keeps history in ring slots: bounded per tier, oldest first, per migration, through another handle', async () => {
      const fine = HISTORY_TIERS[0]!;
      const base = newMigration('h1', 'H1', DEFAULT_PLAN, 0);
      const t0 = Date.UTC(2026, 0, 1);
      // one tier's worth and 40 more buckets: the 40 oldest fine points are overwritten
      const n = fine.slots + 40;
      const writes = Array.from({ length: n }, (_, i) => historyWrites({ ...historyPointOf(base, t0 + i * fine.stepMs), bytes: i }));
      for (let i = 0; i < n; i += 100) await Promise.all(writes.slice(i, i + 100).map((w) => fx.store.putHistory('h1', w)));
      const other = fx.reopen ? await fx.reopen() : fx.store;
      const pts = await other.readHistory('h1', fine.id);
      expect(pts).toHaveLength(fine.slots);
      expect(pts[0]!.bytes).toBe(40);
      expect(pts.at(-1)!.bytes).toBe(n - 1);
      expect(pts.every((p, i) => i === 0 || p.t > pts[i - 1]!.t)).toBe(true);
      // coarser tiers: the last write of each bucket wins
      const coarse = await other.readHistory('h1', HISTORY_TIERS[1]!.id);
      expect(coarse.length).toBe(Math.ceil((n * fine.stepMs) / HISTORY_TIERS[1]!.stepMs));
      expect(coarse.at(-1)!.bytes).toBe(n - 1);
      expect(await other.readHistory('h2', fine.id)).toEqual([]);
      if (other !== fx.store) await other.close();
    });
  });
}
