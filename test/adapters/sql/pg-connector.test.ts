import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { PgConnector } from '../../../lib/adapters/sql/pg-connector';
import { validationDeps } from '../../../lib/compose/validation-runtime';
import { validateConfig } from '../../../lib/core/validation/config';
import { compareKeys } from '../../../lib/core/validation/connector';
import { runValidation } from '../../../lib/core/validation/engine';
import { collect as all } from '../../../lib/core/validation/streams';
import { BottomK } from '../../../lib/core/validation/hash';
import { startPostgres, type PostgresServer } from '../../support/postgres';
import { byProblem, PLANTED, plantedData, type PlantedRecord } from '../../support/planted';

let pg: PostgresServer;
let srcUrl: string;
let dstUrl: string;
let dir: string;
const { source, target } = plantedData();

async function load(url: string, rows: PlantedRecord[]) {
  const c = new Client({ connectionString: url });
  await c.connect();
  await c.query('CREATE TABLE items (id integer PRIMARY KEY, name text NOT NULL, price numeric(10,2), category text, embedding real[])');
  await c.query(
    'INSERT INTO items SELECT * FROM unnest($1::int[], $2::text[], $3::numeric[], $4::text[]) AS u(id, name, price, category), LATERAL (SELECT NULL::real[]) e(embedding)',
    [rows.map((r) => r.id), rows.map((r) => r.name), rows.map((r) => r.price), rows.map((r) => r.category)],
  );
  for (const r of rows) await c.query('UPDATE items SET embedding = $2::real[] WHERE id = $1', [r.id, r.embedding]);
  // text keys in an order where byte order and a linguistic collation disagree
  await c.query('CREATE TABLE words (k text COLLATE "en-x-icu" PRIMARY KEY, n int)'); // a linguistic default order: a < A < b < B
  await c.query("INSERT INTO words VALUES ('b', 1), ('a', 2), ('B', 3), ('é', 4), ('😀', 5), ('ab', 6), ('A', 7), ('\uFFFD', 8)");
  // a composite primary key, a json column (no hash function: hashed from its binary form)
  await c.query('CREATE TABLE item_tags (item_id integer, tag text, weight real, note json, PRIMARY KEY (item_id, tag))');
  await c.query(`INSERT INTO item_tags SELECT i, t, i / 10.0, json_build_object('by', 'seed', 'i', i) FROM generate_series(1, 400) i, unnest(ARRAY['a', 'B', 'c']) t`);
  // the same rows without the key: item_id alone is not unique
  await c.query('CREATE TABLE tags_nokey AS SELECT item_id, tag, weight FROM item_tags');
  await c.end();
}

beforeAll(async () => {
  pg = await startPostgres();
  srcUrl = await pg.createDatabase('source');
  dstUrl = await pg.createDatabase('target');
  await load(srcUrl, source);
  await load(dstUrl, target);
  // target: (5, 'B') deleted, (7, 'c') changed, (9, 'a') note changed, (500, 'a') an orphan
  await pg.sql(
    `DELETE FROM item_tags WHERE item_id = 5 AND tag = 'B'; UPDATE item_tags SET weight = 99 WHERE item_id = 7 AND tag = 'c';
     UPDATE item_tags SET note = '{"by": "hand"}' WHERE item_id = 9 AND tag = 'a'; INSERT INTO item_tags VALUES (500, 'a', 1, NULL);
     DELETE FROM tags_nokey WHERE item_id = 5 AND tag = 'B'; UPDATE tags_nokey SET weight = 99 WHERE item_id = 7 AND tag = 'c';`,
    'target',
  );
  dir = await mkdtemp(join(tmpdir(), 'mm-pg-test-'));
}, 60_000);
afterAll(async () => {
  await pg?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const conn = (url: string, extra: Record<string, unknown> = {}) =>
  new PgConnector({ url, schema: 'public', table: 'items', key: 'id', numericAsNumber: true, ...extra } as ConstructorParameters<typeof PgConnector>[0]);


describe('PostgreSQL connector (real server)', () => {
  it('counts, pages in key order, gets by key, knows its key range', async () => {
    const c = conn(srcUrl);
    try {
      expect(await c.count()).toBe(500);
      expect(await c.keyRange()).toEqual({ min: 1, max: 500 });
      const rows = await all(c.scan({ after: 100, through: 230, batchSize: 50 }));
      expect(rows.map((r) => r.key)).toEqual(Array.from({ length: 130 }, (_, i) => i + 101));
      const [r7] = await c.get([7]);
      const { id: _id, ...want } = source[6]!;
      expect(r7!.data).toEqual({ ...want, embedding: want.embedding.map((x) => expect.closeTo(x, 6)) });
      expect(typeof r7!.data['price']).toBe('number');
      expect((await c.get([1, 2, 9999])).map((r) => r.key).sort()).toEqual([1, 2]);
    } finally {
      await c.close();
    }
  });

  it('orders text keys by code point (COLLATE "C"), like the engine, whatever the column collation', async () => {
    const c = new PgConnector({ url: srcUrl, schema: 'public', table: 'words', key: 'k', numericAsNumber: true });
    try {
      const keys = (await all(c.scan({ batchSize: 3 }))).map((r) => r.key);
      expect(keys).toEqual([...keys].sort(compareKeys));
      expect(keys).toEqual(['A', 'B', 'a', 'ab', 'b', 'é', '\uFFFD', '😀']);
      expect((await all(c.scan({ after: 'a', through: 'é', batchSize: 10 }))).map((r) => r.key)).toEqual(['ab', 'b', 'é']);
    } finally {
      await c.close();
    }
  });

  it('pushes down a sample identical to the engine bottom-k, split points and checksums', async () => {
    const c = conn(srcUrl);
    const d = conn(dstUrl);
    try {
      const bk = new BottomK(40, 'seed-1');
      for (const r of source) bk.add(r.id);
      expect(await c.sampleKeys(40, 'seed-1')).toEqual(bk.keys());
      expect(await c.splitPoints({}, 4)).toEqual([125, 250, 375]);
      expect(await c.splitPoints({ after: 100, through: 200 }, 2)).toEqual([150]);
      const sel = { ignore: [] };
      const a = (await c.checksum({ through: 16 }, sel))!;
      const b = (await d.checksum({ through: 16 }, sel))!;
      expect(a).toEqual(b); // rows 1-16 are identical on both sides
      expect(a.kind).toBe('postgres-hash-v2:id:integer,category:text,embedding:real[],name:text,price:numeric(10,2)');
      expect((await c.checksum({ after: 16, through: 50 }, sel))!.digest).not.toBe((await d.checksum({ after: 16, through: 50 }, sel))!.digest);
      expect(await c.checksum({}, { fields: ['nope'], ignore: [] })).toBeNull();
    } finally {
      await c.close();
      await d.close();
    }
  });

  it('names a missing table or key column', async () => {
    const c = new PgConnector({ url: srcUrl, schema: 'public', table: 'nope', key: 'id', numericAsNumber: true });
    await expect(c.count()).rejects.toThrow(/no such table/);
    await expect(c.keyRange()).rejects.toThrow(/no such table/);
    await c.close();
    const k = new PgConnector({ url: srcUrl, schema: 'public', table: 'items', key: 'uuid', numericAsNumber: true });
    await expect(k.keyRange()).rejects.toThrow(/no key column "uuid" \(columns: id, name, price, category, embedding\)/);
    await k.close();
  });
});

describe('PostgreSQL ↔ PostgreSQL consistency with planted differences', () => {
  const connectors = () => ({
    src: { type: 'postgres', url: srcUrl, table: 'items', key: 'id' },
    dst: { type: 'postgres', url: dstUrl, table: 'items', key: 'id' },
    file: { type: 'file', path: 'target.jsonl', key: 'id', keyType: 'number' },
  });
  const vector = { field: 'embedding', epsilon: PLANTED.epsilon };
  const expected = { missing: [...PLANTED.missing], orphan: [...PLANTED.orphans], changed: [...PLANTED.changed] };

  it('checksum (pushed down), sample (pushed down) and diff find exactly the planted differences', async () => {
    const cfg = validateConfig({
      connectors: connectors(),
      checks: [
        { name: 'rows', kind: 'count', source: 'src', target: 'dst' },
        { name: 'bisect', kind: 'checksum', source: 'src', target: 'dst', vector, segments: 8, leafRows: 16 },
        { name: 'sample', kind: 'sample', source: 'src', target: 'dst', vector, sampleSize: 1000, orphanSampleSize: 1000 },
        { name: 'full', kind: 'diff', source: 'src', target: 'dst', vector, batchSize: 100 },
      ],
    });
    const r = await runValidation(cfg, validationDeps(cfg));
    const ev = (n: string) => r.checks.find((c) => c.name === n)!.evidence as Record<string, any>;
    for (const c of r.checks) expect(c.error).toBeUndefined();
    expect(ev('rows')).toMatchObject({ source: 500, target: 499 });
    for (const n of ['bisect', 'sample', 'full']) expect(byProblem(ev(n).mismatches)).toEqual(expected);
    expect(ev('bisect')).toMatchObject({ mode: 'pushdown', withinTolerance: 1 });
    expect(ev('bisect').rowsFetched).toBeLessThan(200); // narrowed: most of the 999 rows never left the database
    expect(ev('sample')).toMatchObject({ sampleMethod: 'pushdown', sampled: 500 });
    expect(ev('full').vectors).toMatchObject({ compared: 497, overEpsilon: 1 });
    expect(r.verdict).toBe('fail');
  });

  it('PostgreSQL ↔ JSONL: the same findings across store kinds (engine checksums)', async () => {
    await writeFile(join(dir, 'target.jsonl'), target.map((t) => JSON.stringify(t)).join('\n'));
    const cfg = validateConfig({
      connectors: connectors(),
      checks: [
        { name: 'full', kind: 'diff', source: 'src', target: 'file', vector },
        { name: 'bisect', kind: 'checksum', source: 'src', target: 'file', ignore: ['embedding'], leafRows: 16 },
      ],
    });
    const r = await runValidation(cfg, validationDeps(cfg, { baseDir: dir }));
    const full = r.checks[0]!.evidence as Record<string, any>;
    expect(byProblem(full.mismatches)).toEqual(expected);
    const bisect = r.checks[1]!.evidence as Record<string, any>;
    expect(bisect.mode).toBe('engine');
    // without the embedding, 77 and 88 are equal: only 42 and 300 changed
    expect(byProblem(bisect.mismatches)).toEqual({ ...expected, changed: [42, 300] });
  });

  it('a where clause restricts the rows', async () => {
    const c = conn(srcUrl, { where: "category = 'books'" });
    try {
      expect(await c.count()).toBe(125);
    } finally {
      await c.close();
    }
  });
});

describe('composite keys and non-unique keys on PostgreSQL', () => {
  const tagsCfg = (checks: Array<Record<string, unknown>>, key: unknown = ['item_id', 'tag'], table = 'item_tags') =>
    validateConfig({
      connectors: { src: { type: 'postgres', url: srcUrl, table, key }, dst: { type: 'postgres', url: dstUrl, table, key } },
      checks: checks.map((c) => ({ source: 'src', target: 'dst', ...c })),
    });
  const found = (c: { evidence: Record<string, unknown> }) => (c.evidence['mismatches'] as Array<{ key: unknown; problem: string }>).map((m) => `${m.problem} ${JSON.stringify(m.key)}`).sort();

  it('pages, gets and samples by a composite key in the engine order (text part by code point)', async () => {
    const c = new PgConnector({ url: srcUrl, schema: 'public', table: 'item_tags', key: ['item_id', 'tag'], numericAsNumber: true });
    try {
      const rows = await all(c.scan({ after: [2, 'a'], through: [4, 'B'], batchSize: 2 }));
      expect(rows.map((r) => r.key)).toEqual([[2, 'c'], [3, 'B'], [3, 'a'], [3, 'c'], [4, 'B']]);
      expect(rows[1]!.data).toEqual({ weight: expect.closeTo(0.3, 5), note: { by: 'seed', i: 3 } });
      expect((await c.get([[3, 'a'], [4, 'c'], [4, 'zz']])).map((r) => r.key).sort(compareKeys)).toEqual([[3, 'a'], [4, 'c']]);
      expect(await c.keyRange()).toEqual({ min: [1, 'B'], max: [400, 'c'] });
      const bk = new BottomK(25, 's');
      for await (const b of c.scan({ batchSize: 500, keysOnly: true })) for (const r of b) bk.add(r.key);
      expect(await c.sampleKeys(25, 's')).toEqual(bk.keys());
      const points = await c.splitPoints({}, 4);
      expect(points).toEqual([[100, 'c'], [200, 'c'], [300, 'c']]);
      expect((await c.checksum({}, { ignore: [] }))!.kind).toBe('postgres-hash-v2:item_id:integer,tag:text,note:json,weight:real');
    } finally {
      await c.close();
    }
  });

  it('checksum (pushed down), sample and diff find exactly the planted composite-key rows', async () => {
    const r = await runValidation(
      tagsCfg([
        { name: 'bisect', kind: 'checksum', segments: 4, leafRows: 16 },
        { name: 'sampled', kind: 'sample', sampleSize: 2000, orphanSampleSize: 2000 },
        { name: 'full', kind: 'diff', batchSize: 100 },
      ]),
      validationDeps(tagsCfg([{ kind: 'count' }])),
    );
    const want = ['changed [7,"c"]', 'changed [9,"a"]', 'missing [5,"B"]', 'orphan [500,"a"]'];
    for (const c of r.checks) {
      expect(c.error).toBeUndefined();
      expect(found(c)).toEqual(want);
    }
    expect(r.checks[0]!.evidence).toMatchObject({ mode: 'pushdown' });
    expect(r.checks[0]!.evidence['rowsFetched']).toBeLessThan(200);
  });

  it('regression: a non-unique key is refused by every check, pushed-down checksum and sample included, naming the key', async () => {
    // identical tables on both sides keyed by item_id alone: the old pushdown checksum passed them
    const same = validateConfig({
      connectors: { a: { type: 'postgres', url: srcUrl, table: 'tags_nokey', key: 'item_id' }, b: { type: 'postgres', url: srcUrl, table: 'tags_nokey', key: 'item_id' } },
      checks: [
        { name: 'bisect', kind: 'checksum', source: 'a', target: 'b' },
        { name: 'sampled', kind: 'sample', source: 'a', target: 'b' },
        { name: 'full', kind: 'diff', source: 'a', target: 'b' },
        { name: 'rows', kind: 'count', source: 'a', target: 'b' },
      ],
    });
    const r = await runValidation(same, validationDeps(same));
    for (const c of r.checks) {
      expect(c.passed).toBe(false);
      expect(c.error).toMatch(/^(source connector "a"|target connector "b") \(postgres:public\.tags_nokey\): duplicate key \d+ \(3 rows\): the configured key \(item_id\) is not unique/);
    }
    // the sample used to call the deleted (5, 'B') "changed" and miss (7, 'c'): with the real key it finds both
    const fixed = tagsCfg([{ name: 'sampled', kind: 'sample', sampleSize: 5000, successRate: 100 }], ['item_id', 'tag'], 'tags_nokey');
    const f = await runValidation(fixed, validationDeps(fixed));
    expect(f.checks[0]!.error).toBeUndefined();
    expect(found(f.checks[0]!)).toEqual(['changed [7,"c"]', 'missing [5,"B"]']);
  });
});
