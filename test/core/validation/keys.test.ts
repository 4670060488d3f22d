import { ManualClock } from '../../../lib/core/clock';
import { validateConfig } from '../../../lib/core/validation/config';
import { compareKeys, type Key, type Row } from '../../../lib/core/validation/connector';
import { runValidation, type ValidationDeps } from '../../../lib/core/validation/engine';
import { BottomK, sampleRank } from '../../../lib/core/validation/hash';
import { MemoryConnector } from '../../support/memory-connector';

/**
 * Real keys: composite keys (several columns, the parts of each key ordered column by column) in every check,
 * and a key that is not unique on a side is an error naming the key, in every check.
 */

/** item_tags(item_id, tag, weight): primary key (item_id, tag). */
const tags = (n: number): Row[] => {
  const out: Row[] = [];
  for (let id = 1; id <= n; id++) for (const tag of ['a', 'b', 'c']) out.push({ key: [id, tag], data: { weight: id * 10 + tag.charCodeAt(0) } });
  return out;
};

const cfg = (checks: Array<Record<string, unknown>>) =>
  validateConfig({
    connectors: { src: { type: 'file', path: 'x.jsonl', key: ['item_id', 'tag'] }, dst: { type: 'file', path: 'y.jsonl', key: ['item_id', 'tag'] } },
    checks: checks.map((c) => ({ source: 'src', target: 'dst', ...c })),
  });

const deps = (src: Row[], dst: Row[], ordered: boolean): ValidationDeps => {
  const conns = { src: new MemoryConnector(src, ordered, 'src'), dst: new MemoryConnector(dst, ordered, 'dst') };
  return { createConnector: (n) => conns[n as keyof typeof conns], clock: new ManualClock() };
};

describe('key order', () => {
  it('orders composite keys part by part, numbers before strings, prefixes first', () => {
    const keys: Key[] = [[2, 'a'], [1, 'b'], [1, 'a'], [10, 'a'], [1, 'B'], ['x', 1], [1, 'a', 0]];
    expect([...keys].sort(compareKeys)).toEqual([[1, 'B'], [1, 'a'], [1, 'a', 0], [1, 'b'], [2, 'a'], [10, 'a'], ['x', 1]]);
    expect(compareKeys([1, 'a'], [1, 'a'])).toBe(0);
    expect(compareKeys(5, [1, 'a'])).toBeLessThan(0); // never equal to a tuple
  });

  it('ranks a composite key for the seeded sample by its parts joined with U+001F', () => {
    expect(sampleRank('s', [1, 'a'])).toBe(sampleRank('s', '1\u001fa'));
    const bk = new BottomK(3, 's');
    for (const r of tags(10)) bk.add(r.key);
    expect(bk.keys()).toHaveLength(3);
  });
});

describe.each([true, false])('composite keys in every check (ordered: %s)', (ordered) => {
  const src = tags(200);
  // target: (5, b) deleted, (7, c) changed, (300, a) orphan; (5, a) and (5, c) are intact
  const dst = src
    .filter((r) => JSON.stringify(r.key) !== '[5,"b"]')
    .map((r) => (JSON.stringify(r.key) === '[7,"c"]' ? { key: r.key, data: { weight: -1 } } : r))
    .concat([{ key: [300, 'a'], data: { weight: 0 } }]);

  it('diff, checksum and sample name the composite keys that differ', async () => {
    const r = await runValidation(
      cfg([
        { name: 'full', kind: 'diff', batchSize: 50 },
        { name: 'bisect', kind: 'checksum', segments: 4, leafRows: 8 },
        { name: 'sampled', kind: 'sample', sampleSize: 1000, orphanSampleSize: 1000, successRate: 100 },
        { name: 'rows', kind: 'count' },
      ]),
      deps(src, dst, ordered),
    );
    for (const name of ['full', 'bisect', 'sampled']) {
      const c = r.checks.find((x) => x.name === name)!;
      expect(c.error).toBeUndefined();
      const m = (c.evidence['mismatches'] as Array<{ key: Key; problem: string; fields?: string[] }>).map((x) => [x.problem, x.key]);
      expect(m.sort()).toEqual([['changed', [7, 'c']], ['missing', [5, 'b']], ['orphan', [300, 'a']]].sort());
      expect(c.passed).toBe(false);
    }
    expect(r.checks.find((x) => x.name === 'rows')!.evidence).toMatchObject({ source: 600, target: 600 });
  });

  it('a clean composite-key copy passes every check', async () => {
    const r = await runValidation(cfg([{ kind: 'diff' }, { kind: 'checksum', leafRows: 8 }, { kind: 'sample', sampleSize: 100, orphanSampleSize: 100 }]), deps(src, src, ordered));
    expect(r.checks.map((c) => [c.name, c.passed, c.error])).toEqual([
      ['diff-1', true, undefined],
      ['checksum-2', true, undefined],
      ['sample-3', true, undefined],
    ]);
  });
});

describe('a key that is not unique is an error in every check, naming the key and the side', () => {
  // the tags table keyed by item_id alone: item 5 has three rows on each side
  const byItem = (rows: Row[]) => rows.map((r) => ({ key: (r.key as [number, string])[0], data: { tag: (r.key as [number, string])[1], ...r.data } }));
  const src = byItem(tags(20));
  // (5, b) deleted in the target; (6, a) changed
  const dst = src.filter((r) => !(r.key === 5 && r.data['tag'] === 'b')).map((r) => (r.key === 6 && r.data['tag'] === 'a' ? { ...r, data: { ...r.data, weight: 0 } } : r));
  const single = (checks: Array<Record<string, unknown>>) =>
    validateConfig({ connectors: { src: { type: 'file', path: 'x.jsonl', key: 'item_id' }, dst: { type: 'file', path: 'y.jsonl', key: 'item_id' } }, checks: checks.map((c) => ({ source: 'src', target: 'dst', ...c })) });

  it.each([true, false])('diff, checksum and sample refuse (ordered: %s)', async (ordered) => {
    const r = await runValidation(single([{ name: 'full', kind: 'diff' }, { name: 'bisect', kind: 'checksum', leafRows: 4 }, { name: 'sampled', kind: 'sample', sampleSize: 1000 }]), deps(src, dst, ordered));
    for (const c of r.checks) {
      expect(c.passed).toBe(false);
      expect(c.error).toMatch(/^source connector "src" \(src\): duplicate key \d+: the configured key is not unique/);
    }
    expect(r.verdict).toBe('fail');
  });

  it('regression: sample no longer calls a deleted row "changed" nor misses a real change — it refuses the non-unique key', async () => {
    const r = await runValidation(single([{ name: 'sampled', kind: 'sample', sampleSize: 1000 }]), deps(src, dst, true));
    const c = r.checks[0]!;
    expect(c.error).toMatch(/duplicate key/);
    expect(c.summary).not.toMatch(/changed/);
  });

  it('regression: checksum does not pass two identical copies keyed by a non-unique column', async () => {
    const r = await runValidation(single([{ name: 'bisect', kind: 'checksum' }]), deps(src, src, true));
    expect(r.checks[0]!.passed).toBe(false);
    expect(r.checks[0]!.error).toMatch(/duplicate key 1/);
  });

  it('a duplicate only on the target is named on the target side', async () => {
    const dupTarget = [...tags(5), { key: [3, 'a'], data: { weight: 1 } }];
    const r = await runValidation(cfg([{ name: 'full', kind: 'diff' }, { name: 'sampled', kind: 'sample', sampleSize: 100 }]), deps(tags(5), dupTarget, false));
    for (const c of r.checks) expect(c.error).toMatch(/^target connector "dst" \(dst\): duplicate key \[3,"a"\]/);
  });
});

describe('config', () => {
  it('takes composite keys with one type for all columns or one per column, and checks the count', () => {
    const c = validateConfig({
      connectors: {
        pg: { type: 'postgres', url: 'postgres://h/db', table: 'item_tags', key: ['item_id', 'tag'], keyType: ['number', 'string'] },
        dy: { type: 'dynamodb', table: 'tags', key: ['pk', 'sk'] },
        f: { type: 'file', path: 'x.csv', key: ['a', 'b', 'c'], keyType: 'string' },
      },
      checks: [{ kind: 'count', source: 'pg', target: 'dy' }],
    });
    expect(c.connectors['pg']).toMatchObject({ key: ['item_id', 'tag'] });
    expect(() =>
      validateConfig({ connectors: { f: { type: 'file', path: 'x.csv', key: ['a', 'b'], keyType: ['number'] }, d: { type: 'dynamodb', table: 'tab', key: ['a', 'b', 'c'] } }, checks: [{ kind: 'count', source: 'f', target: 'f' }] }),
    ).toThrow(/connectors\.f\.keyType: 1 types for 2 key columns.*|connectors\.d\.key/);
  });
});
