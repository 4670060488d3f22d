import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FileStore } from '../../../lib/adapters/local/file-store';
import { Tracker } from '../../../lib/core/tracker';
import { describeStoreContract } from '../../core/store-contract';

const tmpDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'mm-store-'));

describeStoreContract('embedded file store', async () => {
  const dir = tmpDir();
  const store = await FileStore.open(dir);
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

  it('lets one process own a directory at a time', async () => {
    const store = await FileStore.open(dir);
    await expect(FileStore.open(dir)).rejects.toThrow(/already open in this process/);
    await store.close();
    fs.writeFileSync(path.join(dir, 'LOCK'), '999999'); // a pid that is not running: stale lock
    const again = await FileStore.open(dir);
    await again.close();
  });
});
