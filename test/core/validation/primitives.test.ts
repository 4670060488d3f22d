import { compareKeys, inRange } from '../../../lib/core/validation/connector';
import { compareRecords, l2, toVector } from '../../../lib/core/validation/compare';
import { BottomK, ChecksumAccumulator, sampleRank } from '../../../lib/core/validation/hash';
import { percentile, summarize } from '../../../lib/core/validation/percentile';

describe('key order', () => {
  it('orders numbers numerically, strings by code point (= UTF-8 bytes), numbers before strings', () => {
    const keys = ['b', 'a', 10, 2, 'B', 'é', '\u{1F600}', '\uFFFD', 'ab', 'a'];
    const sorted = [...keys].sort(compareKeys);
    expect(sorted).toEqual([2, 10, 'B', 'a', 'a', 'ab', 'b', 'é', '\uFFFD', '\u{1F600}']);
    // same as sorting by UTF-8 bytes
    const strings = keys.filter((k): k is string => typeof k === 'string');
    const byBytes = [...strings].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    expect([...strings].sort(compareKeys)).toEqual(byBytes);
  });
  it('treats ranges as (after, through]', () => {
    expect(inRange(5, { after: 5 })).toBe(false);
    expect(inRange(5, { through: 5 })).toBe(true);
    expect(inRange(6, { after: 5, through: 7 })).toBe(true);
  });
});

describe('record comparison', () => {
  const spec = { ignore: ['updated_at'], numberTolerance: 0, vector: { field: 'v', epsilon: 0.01 } };
  it('equal records, null vs absent, ignored fields', () => {
    expect(compareRecords({ a: 1, b: null, updated_at: 1, v: [0, 0] }, { a: 1, updated_at: 2, v: [0, 0.005] }, spec)).toMatchObject({ equal: true, vectorDistance: 0.005 });
  });
  it('names changed fields and vector distances over epsilon', () => {
    const r = compareRecords({ a: 1, b: { x: [1, 2] }, v: [0, 0] }, { a: 2, b: { x: [1, 3] }, v: [3, 4] }, spec);
    expect(r).toMatchObject({ equal: false, changed: ['a', 'b', 'v'], vectorDistance: 5 });
  });
  it('reports vector dimension problems', () => {
    expect(compareRecords({ v: [1, 2] }, { v: [1, 2, 3] }, spec)).toMatchObject({ equal: false, vectorProblem: 'dimension 2 on the source, 3 on the target' });
    expect(compareRecords({ v: [1] }, {}, spec)).toMatchObject({ equal: false, vectorProblem: 'vector missing or malformed on the target' });
  });
  it('number tolerance', () => {
    expect(compareRecords({ p: 1.0 }, { p: 1.004 }, { ignore: [], numberTolerance: 0.01 }).equal).toBe(true);
    expect(compareRecords({ p: 1.0 }, { p: 1.02 }, { ignore: [], numberTolerance: 0.01 }).equal).toBe(false);
  });
  it('reads vectors in the forms stores hold them', () => {
    const bytes = Buffer.alloc(8);
    bytes.writeFloatLE(1.5, 0);
    bytes.writeFloatLE(-2, 4);
    expect(Array.from(toVector(new Uint8Array(bytes))!)).toEqual([1.5, -2]);
    expect(toVector('[1, 2.5]')).toEqual([1, 2.5]);
    expect(toVector('{1,2.5}')).toEqual([1, 2.5]);
    expect(toVector(['1', '2'])).toEqual([1, 2]);
    expect(toVector('nope')).toBeNull();
    expect(l2([0, 0], [3, 4])).toBe(5);
  });
});

describe('checksums and sampling', () => {
  it('checksum is independent of row order and sensitive to any change', () => {
    const rows = Array.from({ length: 50 }, (_, i) => ({ key: i, data: { a: i * 2, s: `x${i}` } }));
    const sum = (rs: typeof rows) => {
      const acc = new ChecksumAccumulator({ ignore: [] });
      for (const r of rs) acc.add(r.key, r.data);
      return acc.result();
    };
    const a = sum(rows);
    expect(sum([...rows].reverse())).toEqual(a);
    const changed = rows.map((r) => (r.key === 7 ? { key: 7, data: { ...r.data, a: 15 } } : r));
    expect(sum(changed).digest).not.toBe(a.digest);
    expect(sum(rows.slice(1)).count).toBe(49);
  });
  it('bottom-k sample equals the n smallest ranks of a full sort, whatever the input order', () => {
    const keys = Array.from({ length: 2000 }, (_, i) => `k${i}`);
    const expected = [...keys].sort((x, y) => (sampleRank('s', x) < sampleRank('s', y) ? -1 : 1)).slice(0, 25);
    const bk = new BottomK(25, 's');
    for (const k of [...keys].reverse()) bk.add(k);
    expect(bk.keys()).toEqual(expected);
    const other = new BottomK(25, 't');
    for (const k of keys) other.add(k);
    expect(other.keys()).not.toEqual(expected);
  });
});

describe('percentiles', () => {
  it('nearest rank', () => {
    const xs = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(xs, 50)).toBe(50);
    expect(percentile(xs, 95)).toBe(95);
    expect(percentile(xs, 99)).toBe(99);
    expect(percentile([7], 99)).toBe(7);
    expect(summarize([3, 1, 2])).toMatchObject({ count: 3, min: 1, p50: 2, max: 3, mean: 2 });
  });
});
