import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deserialize, FileSpooler, serialize } from '../../../lib/adapters/file/sorted-spool';
import type { Row } from '../../../lib/core/validation/connector';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mm-spool-test-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function* batches(rows: Row[], size: number) {
  for (let i = 0; i < rows.length; i += size) yield rows.slice(i, i + size);
}
const collect = async (it: AsyncIterable<Row[]>) => {
  const out: Row[] = [];
  for await (const b of it) out.push(...b);
  return out;
};

describe('file spooler (external merge sort)', () => {
  const n = 5000;
  const rows: Row[] = Array.from({ length: n }, (_, i) => ({ key: `k${String((i * 7919) % n).padStart(5, '0')}`, data: { i, bytes: new Uint8Array([i % 256, 1]) } }));

  it('sorts more rows than fit in memory, via runs on disk, and serves ranges', async () => {
    const sp = new FileSpooler({ memoryRows: 300, dir, indexEvery: 100 });
    const sorted = await sp.sort(batches(rows, 123), { label: 't' });
    expect(sorted.count).toBe(n);
    expect((await readdir(dir)).length).toBe(1); // one temp dir, runs merged and removed
    const all = await collect(sorted.scan({}, 1000));
    expect(all.map((r) => r.key)).toEqual([...rows.map((r) => r.key)].sort());
    expect(all[0]!.data['bytes']).toBeInstanceOf(Uint8Array);
    const range = await collect(sorted.scan({ after: 'k01234', through: 'k01300' }, 10));
    expect(range[0]!.key).toBe('k01235');
    expect(range[range.length - 1]!.key).toBe('k01300');
    expect(range).toHaveLength(66);
    await sorted.close();
    expect(await readdir(dir)).toEqual([]);
  });

  it('rejects duplicate keys, in memory and across runs', async () => {
    const dup = [...rows, { key: 'k00042', data: {} }];
    await expect(new FileSpooler({ memoryRows: 300, dir }).sort(batches(dup, 100), { label: 'tbl' })).rejects.toThrow(/tbl: duplicate key "k00042"/);
    await expect(new FileSpooler({ memoryRows: 1e6, dir }).sort(batches(dup, 100), { label: 'tbl' })).rejects.toThrow(/duplicate key/);
    expect(await readdir(dir)).toEqual([]);
  });

  it('round-trips bytes and bigints', () => {
    const r: Row = { key: 5, data: { b: Buffer.from([1, 2, 3]), n: 12345678901234567890n, v: [1.5] } };
    const back = deserialize(serialize(r));
    expect(back.key).toBe(5);
    expect(Array.from(back.data['b'] as Uint8Array)).toEqual([1, 2, 3]);
    expect(back.data['n']).toBe(12345678901234567890n);
  });
});
