import { ReplayQueue, type QueuedWrite, type ReplayQueueStore } from '../../../lib/core/search/replay-queue';

/**
 * The contract every ReplayQueueStore passes (file, Redis, DynamoDB). `make` returns a factory of stores on
 * one fresh backing (a file, a key prefix, a partition): each store it opens is another process (a restart,
 * a cold start, a second instance) over the same queue. `shared`: the store is meant for several instances
 * at once (Redis, DynamoDB), which adds the second suite.
 */
export function replayQueueContract(label: string, shared: boolean, make: () => Promise<{ open(): ReplayQueueStore }>): void {
  const up = (id: string, version: number, target: 'primary' | 'fallback' = 'primary', queuedAt = 1_767_225_600_000 + version): QueuedWrite => ({
    target,
    op: 'upsert',
    id,
    version,
    vector: [version, 0.5, -1.25],
    metadata: { v: version, tags: ['a', 'b'] },
    queuedAt,
  });
  const del = (id: string, version: number, target: 'primary' | 'fallback' = 'primary'): QueuedWrite => ({ target, op: 'delete', id, version, queuedAt: 1_767_225_700_000 });
  const opened: ReplayQueueStore[] = [];

  /** Entries as a new process sees them, whole (through a lease when the store is shared). */
  async function whole(store: ReplayQueueStore): Promise<QueuedWrite[]> {
    const q = new ReplayQueue(store, 1000);
    await q.load();
    const out = [...(await q.claim('primary', 1000, 60_000)), ...(await q.claim('fallback', 1000, 60_000))];
    return out.sort((a, b) => `${a.target}${a.id}`.localeCompare(`${b.target}${b.id}`));
  }


  describe(`ReplayQueueStore contract: ${label}`, () => {
    let backing: { open(): ReplayQueueStore };
    const open = () => {
      const s = backing.open();
      opened.push(s);
      return s;
    };
    beforeEach(async () => {
      backing = await make();
    });
    afterEach(async () => {
      for (const s of opened.splice(0)) await s.close();
    });

    it('survives a new process: one entry per store and id, its newest version, the first miss\'s time, vector and metadata intact', async () => {
      const q = new ReplayQueue(open(), 100);
      expect(await q.load()).toBe(0);
      await q.add([up('a', 1), up('b', 1), up('a', 3), del('c', 4), up('c', 1, 'fallback')]);
      await q.add([up('a', 2)]); // older than the queued 3: ignored
      await q.settled('primary', [{ id: 'b', version: 1 }]);
      await q.close();
      expect(await whole(open())).toEqual([
        { ...up('c', 1, 'fallback') },
        { ...up('a', 3), queuedAt: up('a', 1).queuedAt },
        del('c', 4),
      ]);
    });

    it('the store itself never goes back a version, and a settle of an older version keeps the newer entry', async () => {
      const a = open();
      await a.load();
      await a.apply([up('x', 5)], []);
      await a.apply([up('x', 3)], []);
      await a.apply([], [{ target: 'primary', id: 'x', version: 4 }]);
      await a.close();
      expect((await whole(open())).map((e) => [e.id, e.version])).toEqual([['x', 5]]);
      const b = open();
      await b.load();
      await b.apply([], [{ target: 'primary', id: 'x', version: 5 }]);
      expect(await whole(open())).toEqual([]);
    });

    it('bounded: fits() says when a batch would pass the limit', async () => {
      const q = new ReplayQueue(open(), 3);
      await q.load();
      await q.add([up('a', 1), up('b', 1)]);
      expect(q.fits(1)).toBe(true);
      expect(q.fits(2)).toBe(false);
    });

    it('shared or not, as the adapter says', async () => {
      expect(new ReplayQueue(open(), 1).shared).toBe(shared);
    });
  });

  if (shared) describe(`ReplayQueueStore contract, shared between instances: ${label}`, () => {
    let backing: { open(): ReplayQueueStore };
    beforeEach(async () => {
      backing = await make();
    });
    afterEach(async () => {
      for (const s of opened.splice(0)) await s.close();
    });
    const open = () => {
      const s = backing.open();
      opened.push(s);
      return s;
    };

    it('two instances with stale views: the store keeps the newest version, and a settle of an older one keeps it', async () => {
      const a = open();
      const b = open();
      await a.load();
      await b.load();
      await a.apply([up('x', 5)], []);
      await b.apply([up('x', 3)], []); // b never saw 5
      await b.apply([], [{ target: 'primary', id: 'x', version: 4 }]); // b settled its 3 (as 4): 5 stays
      expect((await whole(open())).map((e) => [e.id, e.version])).toEqual([['x', 5]]);
    });

    it('the depth is the whole queue\'s: what one instance queues and settles, the other sees after its refresh', async () => {
      let t = 0;
      const a = new ReplayQueue(open(), 100, { refreshMs: 1000, now: () => t });
      const b = new ReplayQueue(open(), 100, { refreshMs: 1000, now: () => t });
      await a.load();
      await b.load();
      await a.add([up('a', 1), up('b', 1), up('c', 1, 'fallback')]);
      expect(b.depth()).toBe(0);
      await b.refreshIfDue(); // not due yet
      expect(b.depth()).toBe(0);
      t = 1000;
      await b.refreshIfDue();
      expect([b.depth(), b.depth('primary'), b.depth('fallback')]).toEqual([3, 2, 1]);
      await b.settled('primary', [{ id: 'a', version: 1 }]);
      t = 2000;
      await a.refreshIfDue();
      expect(a.depth()).toBe(2);
    });

    it('two instances replaying at once lease disjoint entries; a lease ends when it expires; a newer version drops it', async () => {
      const a = new ReplayQueue(open(), 1000);
      const b = new ReplayQueue(open(), 1000);
      await a.add(Array.from({ length: 40 }, (_, i) => up(`k${i}`, 1)));
      await b.load();
      await a.load();
      const [ca, cb] = await Promise.all([a.claim('primary', 40, 60_000), b.claim('primary', 40, 60_000)]);
      const ids = [...ca, ...cb].map((e) => e.id);
      expect(new Set(ids).size).toBe(ids.length); // nobody got an entry twice
      expect(ids.length).toBe(40); // and every entry went to one of them
      // the same instance may take its own entries again (a retry after a failed replay)
      const mine = ca.length >= cb.length ? a : b; // the one with more (at least 20)
      const mineSet = mine === a ? ca : cb;
      const mineCount = mineSet.length;
      expect((await mine.claim('primary', 40, 60_000)).length).toBe(mineCount);
      // a newer version replaces a leased entry and drops the lease: the other instance can take it
      const other = mine === a ? b : a;
      const leasedId = mineSet[0]!.id;
      await other.add([up(leasedId, 2)]);
      const taken = await other.claim('primary', 1000, 60_000);
      expect(taken.find((e) => e.id === leasedId)).toMatchObject({ version: 2, vector: [2, 0.5, -1.25] });
      // a released lease is free at once (a replay that failed)
      await mine.release('primary', [mineSet[1]!.id]);
      expect((await other.claim('primary', 1000, 60_000)).some((e) => e.id === mineSet[1]!.id)).toBe(true);
      // a short lease expires
      const c = new ReplayQueue(open(), 1000);
      await c.add([up('short', 1)]);
      await c.load();
      expect(await c.claim('primary', 1000, 1500).then((xs) => xs.some((e) => e.id === 'short'))).toBe(true);
      const d = new ReplayQueue(open(), 1000);
      await d.load();
      expect((await d.claim('primary', 1000, 60_000)).some((e) => e.id === 'short')).toBe(false);
      await new Promise((r) => setTimeout(r, 1700));
      expect((await d.claim('primary', 1000, 60_000)).some((e) => e.id === 'short')).toBe(true);
    });

    it('a replay settled by one instance while the other queued a newer version keeps the newer one', async () => {
      const a = new ReplayQueue(open(), 100);
      const b = new ReplayQueue(open(), 100);
      await a.add([up('x', 1)]);
      await b.load();
      const [leased] = await b.claim('primary', 1, 60_000);
      await a.add([up('x', 2)]); // a live write missed the follower again meanwhile
      await b.settled('primary', [{ id: leased!.id, version: leased!.version }], { everywhere: true }); // b's replay of v1 done
      expect((await whole(open())).map((e) => [e.id, e.version])).toEqual([['x', 2]]);
    });
  });
}
