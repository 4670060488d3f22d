import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CsvParser, FileConnector } from '../../../lib/adapters/file/file-connector';
import { validationDeps } from '../../../lib/compose/validation-runtime';
import { validateConfig } from '../../../lib/core/validation/config';
import { runValidation } from '../../../lib/core/validation/engine';
import { byProblem, PLANTED, plantedData, type PlantedRecord } from '../../support/planted';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mm-file-conn-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const jsonl = (rs: PlantedRecord[]) => rs.map((r) => JSON.stringify(r)).join('\n') + '\n';
const csv = (rs: PlantedRecord[]) =>
  'id,name,price,category,embedding\r\n' + rs.map((r) => [r.id, `"${r.name.replace(/"/g, '""')}"`, r.price, r.category, `"${JSON.stringify(r.embedding)}"`].join(',')).join('\r\n');

describe('CSV parsing', () => {
  it('handles quotes, doubled quotes, delimiters and newlines in fields, across chunk boundaries', () => {
    const text = 'a,b,c\n1,"x, ""y""\nz",3\n2,,"last"';
    for (const cut of [1, 5, 9, 12, 17, text.length]) {
      const p = new CsvParser();
      const rows = [...p.push(text.slice(0, cut)), ...p.end(text.slice(cut))];
      expect(rows).toEqual([['a', 'b', 'c'], ['1', 'x, "y"\nz', '3'], ['2', '', 'last']]);
    }
  });
  it('rejects an unterminated quote', () => {
    expect(() => new CsvParser().end('a\n"oops')).toThrow(/inside a quoted field/);
  });
});

describe('file connector', () => {
  it('streams JSONL and CSV with typed columns; count, get, keyRange, ranges', async () => {
    const source = plantedData().source.slice(0, 50);
    await writeFile(join(dir, 'a.jsonl'), jsonl(source));
    await writeFile(join(dir, 'a.csv'), csv(source));
    const j = new FileConnector({ path: join(dir, 'a.jsonl'), key: 'id', keyType: 'number', sorted: true, columns: {}, delimiter: ',' });
    const c = new FileConnector({ path: join(dir, 'a.csv'), key: 'id', keyType: 'number', sorted: true, columns: { price: 'number', embedding: 'vector' }, delimiter: ',' });
    for (const conn of [j, c]) {
      expect(await conn.count()).toBe(50);
      expect(await conn.keyRange()).toEqual({ min: 1, max: 50 });
      const got = await conn.get([3, 7, 999]);
      expect(got.map((r) => r.key)).toEqual([3, 7]);
      const { id: _id, ...rest } = source[2]!;
      expect(got[0]!.data).toEqual(rest);
      const batches: number[][] = [];
      for await (const b of conn.scan({ after: 10, through: 25, batchSize: 4 })) batches.push(b.map((r) => r.key as number));
      expect(batches.flat()).toEqual(Array.from({ length: 15 }, (_, i) => i + 11));
      expect(Math.max(...batches.map((b) => b.length))).toBe(4);
    }
  });

  it('says which line is broken', async () => {
    await writeFile(join(dir, 'bad.jsonl'), '{"id":1}\n{"id":2,\n');
    const conn = new FileConnector({ path: join(dir, 'bad.jsonl'), key: 'id', sorted: false, columns: {}, delimiter: ',' });
    await expect(conn.count()).rejects.toThrow(/bad\.jsonl:2: not valid JSON/);
    const missing = new FileConnector({ path: join(dir, 'nope.jsonl'), key: 'id', sorted: false, columns: {}, delimiter: ',' });
    await expect(missing.count()).rejects.toThrow(/no such file/);
  });
});

describe('JSONL ↔ CSV consistency with planted differences (real files, file spooler spilling to disk)', () => {
  it('finds exactly the planted differences with diff, checksum and sample', async () => {
    const { source, target } = plantedData();
    const shuffled = [...target].sort((a, b) => ((a.id * 7919) % 503) - ((b.id * 7919) % 503));
    await writeFile(join(dir, 'source.jsonl'), jsonl(source));
    await writeFile(join(dir, 'target.csv'), csv(shuffled));
    const cfg = validateConfig({
      connectors: {
        src: { type: 'file', path: 'source.jsonl', key: 'id', keyType: 'number', sorted: true },
        dst: { type: 'file', path: 'target.csv', key: 'id', keyType: 'number', columns: { price: 'number', embedding: 'vector' } },
      },
      options: { sortMemoryRows: 64 },
      checks: [
        { name: 'rows', kind: 'count', source: 'src', target: 'dst' },
        { name: 'full', kind: 'diff', source: 'src', target: 'dst', vector: { field: 'embedding', epsilon: PLANTED.epsilon } },
        { name: 'bisect', kind: 'checksum', source: 'src', target: 'dst', vector: { field: 'embedding', epsilon: PLANTED.epsilon }, leafRows: 16 },
        { name: 'sample', kind: 'sample', source: 'src', target: 'dst', sampleSize: 500, orphanSampleSize: 499, vector: { field: 'embedding', epsilon: PLANTED.epsilon } },
      ],
    });
    const r = await runValidation(cfg, validationDeps(cfg, { baseDir: dir }));
    const expected = { missing: [...PLANTED.missing], orphan: [...PLANTED.orphans], changed: [...PLANTED.changed] };
    for (const name of ['full', 'bisect', 'sample']) {
      const c = r.checks.find((x) => x.name === name)!;
      expect(c.error).toBeUndefined();
      expect(byProblem((c.evidence as { mismatches: never[] }).mismatches)).toEqual(expected);
    }
    expect(r.checks[0]!.evidence).toMatchObject({ source: 500, target: 499 });
    expect(r.verdict).toBe('fail');
  });

  it('a file declared sorted that is not fails the check with a clear message', async () => {
    await writeFile(join(dir, 'unsorted.jsonl'), '{"id":2}\n{"id":1}\n');
    const cfg = validateConfig({
      connectors: { a: { type: 'file', path: 'unsorted.jsonl', key: 'id', keyType: 'number', sorted: true } },
      checks: [{ name: 'd', kind: 'diff', source: 'a', target: 'a' }],
    });
    const r = await runValidation(cfg, validationDeps(cfg, { baseDir: dir }));
    expect(r.checks[0]!.error).toMatch(/not in ascending key order: 1 came after 2/);
  });
});

describe('composite keys in files', () => {
  it('reads a key of several columns (typed per column) and finds a duplicate one with its key', async () => {
    const d = await mkdtemp(join(tmpdir(), 'mm-file-ck-'));
    try {
      await writeFile(join(d, 'a.csv'), 'order,line,sku\n2,1,x\n1,2,y\n1,10,z\n');
      await writeFile(join(d, 'b.jsonl'), ['{"order":1,"line":2,"sku":"y"}', '{"order":1,"line":10,"sku":"Z"}', '{"order":1,"line":10,"sku":"z"}'].join('\n'));
      const a = new FileConnector({ path: join(d, 'a.csv'), key: ['order', 'line'], keyType: ['number', 'number'], sorted: false, columns: {}, delimiter: ',' });
      expect(await a.get([[1, 10], [2, 1]])).toEqual([
        { key: [2, 1], data: { sku: 'x' } },
        { key: [1, 10], data: { sku: 'z' } },
      ]);
      const cfg = validateConfig({
        connectors: { a: { type: 'file', path: 'a.csv', key: ['order', 'line'], keyType: 'number' }, b: { type: 'file', path: 'b.jsonl', key: ['order', 'line'], keyType: 'number' } },
        checks: [{ kind: 'diff', source: 'a', target: 'b' }, { kind: 'sample', source: 'a', target: 'b' }],
      });
      const r = await runValidation(cfg, validationDeps(cfg, { baseDir: d }));
      for (const c of r.checks) expect(c.error).toMatch(/^target connector "b" \(file:.*b\.jsonl\): duplicate key \[1,10\]/);
    } finally {
      await rm(d, { recursive: true, force: true });
    }
  });
});
