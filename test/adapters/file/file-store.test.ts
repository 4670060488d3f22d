import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FileStore } from '../../../lib/adapters/file/file-store';
import { Tracker } from '../../../lib/core/tracker/service';
import { describeStoreContract } from '../../core/store-contract';

const tmpDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'mm-store-'));

describeStoreContract('embedded file store', async () => {
  const dir = tmpDir();
  const store = await FileStore.open(dir);
  return { store, cleanup: async () => (await store.close(), fs.rmSync(dir, { recursive: true, force: true })) };
});

// Frequent compaction and a tiny in-memory window: most activity queries cross from activity.log into memory.
describeStoreContract('embedded file store, 5 activity entries in memory', async () => {
  const dir = tmpDir();
  const store = await FileStore.open(dir, { activityInMemory: 5, compactBytes: 20_000 });
  return { store, cleanup: async () => (await store.close(), fs.rmSync(dir, { recursive: true, force: true })) };
});

describeStoreContract('embedded store, in memory', async () => {
  const store = FileStore.inMemory();
  return { store, cleanup: () => store.close() };
});

describe('embedded file store on disk', () => {
  let dir: string;
  beforeEach(() => (dir = tmpDir()));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('survives a restart: state, activity and idempotency records come back', async () => {
    let store = await FileStore.open(dir);
    let t = new Tracker({ store });
    await t.initialize('m', { name: 'Restart test' });
    await t.apply('m', { action: 'start_phase', phaseId: 'initialization' });
    await t.apply('m', { action: 'update_metrics', increment: { successfulOperations: 3 } }, { idempotencyKey: 'k1' });
    await store.close();
    store = await FileStore.open(dir);
    t = new Tracker({ store });
    const s = await t.get('m');
    expect(s.name).toBe('Restart test');
    expect(s.phases[0]!.status).toBe('in_progress');
    expect(s.metrics.successfulOperations).toBe(3);
    const replay = await t.apply('m', { action: 'update_metrics', increment: { successfulOperations: 3 } }, { idempotencyKey: 'k1' });
    expect(replay.replayed).toBe(true);
    expect((await t.get('m')).metrics.successfulOperations).toBe(3);
    expect((await store.readActivity('m')).map((a) => a.action)).toEqual(['migration.initialize', 'phase.start', 'metrics.update']);
    await store.close();
  });

  it('recovers from the journal without a clean close, and compacts without losing or duplicating activity', async () => {
    const store = await FileStore.open(dir, { compactBytes: 20_000 });
    const t = new Tracker({ store });
    await t.initialize('m', {});
    for (let i = 0; i < 40; i++) await t.apply('m', { action: 'update_metrics', increment: { successfulOperations: 1 } });
    expect(fs.existsSync(path.join(dir, 'snapshot.json'))).toBe(true); // compaction ran on the way
    // simulate a crash: copy the directory as it is on disk now, without close()
    const crashed = tmpDir();
    fs.cpSync(dir, crashed, { recursive: true });
    fs.rmSync(path.join(crashed, 'LOCK'));
    await store.close();
    const again = await FileStore.open(crashed);
    expect((await again.load('m'))?.state.metrics.successfulOperations).toBe(40);
    const acts = await again.readActivity('m');
    expect(acts).toHaveLength(41);
    expect(new Set(acts.map((a) => a.version)).size).toBe(41);
    await again.close();
    fs.rmSync(crashed, { recursive: true, force: true });
  });

  it('ignores a torn last journal line (an unacknowledged write) but refuses corruption in the middle', async () => {
    const store = await FileStore.open(dir);
    const t = new Tracker({ store });
    await t.initialize('m', {});
    await t.apply('m', { action: 'update_metrics', increment: { successfulOperations: 1 } });
    const crashed = tmpDir();
    fs.cpSync(dir, crashed, { recursive: true });
    fs.rmSync(path.join(crashed, 'LOCK'));
    await store.close();
    fs.appendFileSync(path.join(crashed, 'journal.log'), '{"m":"m","v":3,"s":{"trunc');
    const again = await FileStore.open(crashed);
    expect((await again.load('m'))?.version).toBe(2);
    await again.close();
    const lines = fs.readFileSync(path.join(crashed, 'journal.log'), 'utf8');
    expect(lines).toBe(''); // the clean close compacted it
    const bad = tmpDir();
    fs.writeFileSync(path.join(bad, 'journal.log'), 'garbage\n{"m":"m","v":1,"s":{}}\n');
    await expect(FileStore.open(bad)).rejects.toThrow(/corrupt line 1/);
    fs.rmSync(bad, { recursive: true, force: true });
    fs.rmSync(crashed, { recursive: true, force: true });
  });

  /** A copy of the directory as it is on disk right now, as a crash would leave it (no close, no compaction). */
  const crashCopy = (from: string) => {
    const crashed = tmpDir();
    fs.cpSync(from, crashed, { recursive: true });
    fs.rmSync(path.join(crashed, 'LOCK'));
    return crashed;
  };

  it('after recovering from a torn journal line, crashes again without losing what was acknowledged since', async () => {
    const store = await FileStore.open(dir);
    const t = new Tracker({ store });
    await t.initialize('m', {});
    const first = crashCopy(dir);
    await store.close();
    fs.appendFileSync(path.join(first, 'journal.log'), '{"m":"m","v":2,"s":{"trunc'); // the write the crash cut short
    const again = await FileStore.open(first);
    const t2 = new Tracker({ store: again });
    for (let i = 0; i < 3; i++) await t2.apply('m', { action: 'update_metrics', increment: { successfulOperations: 1 } });
    const second = crashCopy(first); // crash again before any compaction
    await again.close();
    const third = await FileStore.open(second);
    expect((await third.load('m'))?.state.metrics.successfulOperations).toBe(3);
    expect((await third.readActivity('m')).map((a) => a.version)).toEqual([1, 2, 3, 4]);
    await third.close();
    for (const d of [first, second]) fs.rmSync(d, { recursive: true, force: true });
  });

  it('a torn last line of activity.log (a crash while archiving) is cut off and its entries come back from the journal', async () => {
    const store = await FileStore.open(dir);
    const t = new Tracker({ store });
    await t.initialize('m', {});
    await store.compact(); // version 1 is archived in activity.log, the journal is empty
    for (let i = 0; i < 2; i++) await t.apply('m', { action: 'update_metrics', increment: { successfulOperations: 1 } });
    const crashed = crashCopy(dir);
    await store.close();
    fs.appendFileSync(path.join(crashed, 'activity.log'), '{"m":"m","version":2,"act'); // archiving of versions 2-3 cut short
    const again = await FileStore.open(crashed);
    await again.compact(); // archives 2-3 after the good lines
    await new Tracker({ store: again }).apply('m', { action: 'update_metrics', increment: { successfulOperations: 1 } });
    const before = await again.readActivity('m');
    await again.close();
    const last = await FileStore.open(crashed);
    expect((await last.readActivity('m')).map((a) => a.version)).toEqual([1, 2, 3, 4]);
    expect(before.map((a) => a.version)).toEqual([1, 2, 3, 4]);
    await last.close();
    fs.rmSync(crashed, { recursive: true, force: true });
  });

  it('keeps only the newest activity in memory and reads older entries from activity.log, the same before and after a restart', async () => {
    const opts = { activityInMemory: 10, compactBytes: 8_000 };
    let store = await FileStore.open(dir, opts);
    let t = new Tracker({ store });
    await t.initialize('m', {});
    await t.initialize('other', {});
    for (let i = 0; i < 120; i++) await t.apply(i % 3 ? 'm' : 'other', { action: 'update_metrics', increment: { successfulOperations: 1 } });
    const inMemory = () => (store as unknown as { activity: Map<string, unknown[]> }).activity.get('m')!.length;
    const check = async () => {
      const all = await store.readActivity('m');
      expect(all.map((a) => a.version)).toEqual(Array.from({ length: 81 }, (_, i) => i + 1));
      expect((await store.readActivity('m', { limit: 3 })).map((a) => a.version)).toEqual([79, 80, 81]);
      expect((await store.readActivity('m', { limit: 50 })).map((a) => a.version)).toEqual(Array.from({ length: 50 }, (_, i) => i + 32));
      const since = all[20]!.at;
      expect(await store.readActivity('m', { since })).toEqual(all.filter((a) => a.at >= since));
      expect(await store.readActivity('m', { since, limit: 70 })).toEqual(all.filter((a) => a.at >= since).slice(-70));
      expect(await store.readActivity('other')).toHaveLength(41);
    };
    await store.compact();
    expect(inMemory()).toBeLessThanOrEqual(10);
    await check();
    await store.close();
    store = await FileStore.open(dir, opts);
    expect(inMemory()).toBeLessThan(20);
    await check();
    // new entries after the restart join the end
    t = new Tracker({ store });
    await t.apply('m', { action: 'update_metrics', increment: { successfulOperations: 1 } });
    expect((await store.readActivity('m')).map((a) => a.version).slice(-2)).toEqual([81, 82]);
    await store.close();
    await expect(FileStore.open(dir, { activityInMemory: 0 })).rejects.toThrow(/activityInMemory must be a positive integer/);
  });

  it('lets one process own a directory at a time', async () => {
    const store = await FileStore.open(dir);
    await expect(FileStore.open(dir)).rejects.toThrow(/already open in this process/);
    await store.close();
    fs.writeFileSync(path.join(dir, 'LOCK'), '999999'); // a pid that is not running: stale lock
    const again = await FileStore.open(dir);
    await again.close();
  });
});
