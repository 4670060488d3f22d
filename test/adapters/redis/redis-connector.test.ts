import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { RedisConnector } from '../../../lib/adapters/redis/redis-connector';
import { validationDeps } from '../../../lib/compose/validation-runtime';
import { validateConfig } from '../../../lib/core/validation/config';
import { runValidation } from '../../../lib/core/validation/engine';
import { freePort } from '../../support/ports';
import { startRedis, type RedisServer } from '../../support/redis';
import { byProblem, PLANTED, plantedData } from '../../support/planted';

let server: RedisServer;
let dir: string;
const { source, target } = plantedData();

beforeAll(async () => {
  server = await startRedis();
  dir = await mkdtemp(join(tmpdir(), 'mm-redis-conn-'));
  const r = new Redis(server.url);
  const p = r.pipeline();
  for (const { id, ...rest } of source) p.set(`src:item:${id}`, JSON.stringify(rest));
  for (const t of target) {
    const emb = Buffer.alloc(t.embedding.length * 4);
    t.embedding.forEach((x, i) => emb.writeFloatLE(x, i * 4));
    p.hset(`dst:item:${t.id}`, { name: t.name, price: String(t.price), category: t.category, embedding: emb });
  }
  p.set('other:1', 'not a record'); // outside both prefixes
  await p.exec();
  await r.quit();
});
afterAll(async () => {
  await server?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const src = () => new RedisConnector({ url: server.url, prefix: 'src:item:', valueType: 'json', fields: {}, keyType: 'number', scanCount: 50 });

describe('Redis connector (real redis-server)', () => {
  it('scans a prefix, gets JSON values, counts', async () => {
    const c = src();
    try {
      expect(await c.count()).toBe(500);
      expect(await c.keyRange()).toEqual({ min: 1, max: 500 });
      const got = await c.get([3, 9999]);
      expect(got).toHaveLength(1);
      const { id: _id, ...want } = source[2]!;
      expect(got[0]).toEqual({ key: 3, data: want });
      let n = 0;
      for await (const b of c.scan({ after: 100, through: 200, batchSize: 30 })) {
        expect(b.length).toBeLessThanOrEqual(30);
        for (const r of b) expect(r.key).toBeGreaterThan(100);
        n += b.length;
      }
      expect(n).toBe(100);
    } finally {
      await c.close();
    }
  });

  it('reads hashes with typed fields and raw bytes', async () => {
    const c = new RedisConnector({ url: server.url, prefix: 'dst:item:', valueType: 'hash', fields: { price: 'number', embedding: 'bytes' }, keyType: 'number', scanCount: 100 });
    try {
      const [r] = await c.get([42]);
      expect(r!.data['price']).toBe(target.find((t) => t.id === 42)!.price);
      expect(r!.data['embedding']).toBeInstanceOf(Uint8Array);
    } finally {
      await c.close();
    }
  });

  it('says where it cannot connect', async () => {
    const port = await freePort();
    const c = new RedisConnector({ url: `redis://user:secret@127.0.0.1:${port}`, prefix: '', valueType: 'json', fields: {}, scanCount: 10 });
    await expect(c.count()).rejects.toThrow(new RegExp(`cannot connect to redis://\\*\\*\\*@127.0.0.1:${port}: .*ECONNREFUSED`));
    await c.close();
  });

  it('Redis JSON ↔ Redis hash ↔ JSONL: planted differences found exactly', async () => {
    await writeFile(join(dir, 'target.jsonl'), target.map((t) => JSON.stringify(t)).join('\n'));
    const vector = { field: 'embedding', epsilon: PLANTED.epsilon };
    const cfg = validateConfig({
      connectors: {
        src: { type: 'redis', url: server.url, prefix: 'src:item:', keyType: 'number' },
        dst: { type: 'redis', url: server.url, prefix: 'dst:item:', valueType: 'hash', keyType: 'number', fields: { price: 'number', embedding: 'bytes' } },
        file: { type: 'file', path: 'target.jsonl', key: 'id', keyType: 'number' },
      },
      checks: [
        { name: 'rows', kind: 'count', source: 'src', target: 'dst' },
        { name: 'full', kind: 'diff', source: 'src', target: 'dst', vector },
        { name: 'sample', kind: 'sample', source: 'src', target: 'dst', vector, sampleSize: 500, orphanSampleSize: 499 },
        { name: 'vs-file', kind: 'diff', source: 'src', target: 'file', vector },
      ],
    });
    const r = await runValidation(cfg, validationDeps(cfg, { baseDir: dir }));
    for (const c of r.checks) expect(c.error).toBeUndefined();
    const expected = { missing: [...PLANTED.missing], orphan: [...PLANTED.orphans], changed: [...PLANTED.changed] };
    for (const c of r.checks.slice(1)) expect(byProblem((c.evidence as { mismatches: never[] }).mismatches)).toEqual(expected);
    expect(r.checks[0]!.evidence).toMatchObject({ source: 500, target: 499 });
  });
});
