import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FileReplayQueueStore } from '../../../lib/adapters/file/replay-queue-file';
import { ReplayQueue, type QueuedWrite } from '../../../lib/core/search/replay-queue';
import { replayQueueContract } from '../../core/search/replay-queue-contract';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mm-replay-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

let n = 0;
replayQueueContract('file', false, async () => {
  const file = path.join(dir, `contract-${++n}`, 'replay.jsonl');
  return { open: () => new FileReplayQueueStore(file) };
});

const up = (id: string, version: number, target: 'primary' | 'fallback' = 'primary'): QueuedWrite => ({ target, op: 'upsert', id, version, vector: [version, 1], queuedAt: 1000 + version });

it('survives a restart: what was queued and not settled is there again, one entry per store and id, the newest version', async () => {
  const file = path.join(dir, 'q', 'replay.jsonl');
  const q = new ReplayQueue(new FileReplayQueueStore(file), 100);
  expect(await q.load()).toBe(0);
  await q.add([up('a', 1), up('b', 1), up('a', 3), up('a', 2), up('c', 1, 'fallback')]);
  await q.settled('primary', [{ id: 'b', version: 1 }]);
  // a settle for an older version than the one queued keeps the entry
  await q.settled('primary', [{ id: 'a', version: 2 }]);
  await q.close();

  const again = new ReplayQueue(new FileReplayQueueStore(file), 100);
  expect(await again.load()).toBe(2);
  expect(again.take('primary', 10)).toEqual([up('a', 3)].map((e) => ({ ...e, queuedAt: 1001 })));
  expect(again.depth('fallback')).toBe(1);
  await again.close();
});

it('a torn last line (a crash mid-append, never acknowledged) is ignored; damage elsewhere is an error naming the line', async () => {
  const file = path.join(dir, 'replay.jsonl');
  const q = new ReplayQueue(new FileReplayQueueStore(file), 100);
  await q.load();
  await q.add([up('a', 1)]);
  await q.close();
  fs.appendFileSync(file, '{"put": {"target": "primary", "op": "ups');
  const again = new ReplayQueue(new FileReplayQueueStore(file), 100);
  expect(await again.load()).toBe(1);
  await again.close();
  fs.writeFileSync(file, 'garbage\n' + fs.readFileSync(file, 'utf8') + '{"put": 1}\n');
  await expect(new FileReplayQueueStore(file).load()).rejects.toThrow(/line 1 is not JSON/);
});

it('compacts the journal once it is mostly settled entries, keeping the live ones', async () => {
  const file = path.join(dir, 'replay.jsonl');
  const q = new ReplayQueue(new FileReplayQueueStore(file), 10_000);
  await q.load();
  for (let i = 0; i < 800; i++) {
    await q.add([up(`id-${i}`, 1)]);
    if (i >= 5) await q.settled('primary', [{ id: `id-${i}`, version: 1 }]);
  }
  await q.close();
  expect(fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).length).toBeLessThan(1000);
  const again = new ReplayQueue(new FileReplayQueueStore(file), 10_000);
  expect(await again.load()).toBe(5);
  await again.close();
});

it('bounded: fits() says when a batch would pass the limit', async () => {
  const q = new ReplayQueue(new FileReplayQueueStore(path.join(dir, 'r.jsonl')), 3);
  await q.load();
  await q.add([up('a', 1), up('b', 1)]);
  expect(q.fits(1)).toBe(true);
  expect(q.fits(2)).toBe(false);
  await q.close();
});
