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
  await c.end();
}

beforeAll(async () => {
  pg = await startPostgres();
  srcUrl = await pg.createDatabase('source');
  dstUrl = await pg.createDatabase('target');
  await load(srcUrl, source);
  await load(dstUrl, target);
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
      expect(a.kind).toBe('postgres-md5-v1:id:integer,category:text,embedding:real[],name:text,price:numeric(10,2)');
      expect((await c.checksum({ after: 16, through: 50 }, sel))!.digest).not.toBe((await d.checksum({ after: 16, through: 50 }, sel))!.digest);
      expect(await c.checksum({}, { fields: ['nope'], ignore: [] })).toBeNull();
    } finally {
      await c.close();
      await d.close();
    }
  });

  it('names a missing table or key column', async () => {
    const c = new PgConnector({ url: srcUrl, schema: 'public', table: 'nope', key: 'id', numericAsNumber: true });
    await expect(c.count()).rejects.toThrow(/relation "public.nope" does not exist/);
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
