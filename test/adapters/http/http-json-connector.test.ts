import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { at, HttpJsonConnector } from '../../../lib/adapters/http/http-json-connector';
import { serveHttp, type RunningServer } from '../../../lib/adapters/http/server';
import { validationDeps } from '../../../lib/compose/validation-runtime';
import { json, router } from '../../../lib/core/http';
import { validateConfig } from '../../../lib/core/validation/config';
import { runValidation } from '../../../lib/core/validation/engine';
import { byProblem, PLANTED, plantedData } from '../../support/planted';

const { source, target } = plantedData();
let api: RunningServer;
let dir: string;
const requests: string[] = [];

beforeAll(async () => {
  // A small records API: cursor-paged list (newest first, i.e. not in key order), batch get, single get, count.
  const items = [...target].sort((a, b) => b.id - a.id);
  api = await serveHttp(
    router([
      {
        method: 'GET',
        path: '/v1/items',
        handler: async (req) => {
          requests.push(`${req.path}?${new URLSearchParams(req.query).toString()}`);
          if (req.headers['x-api-key'] !== 'k1') return json(401, { error: 'no key' });
          const limit = Number(req.query['limit']);
          const start = Number(req.query['cursor'] ?? 0);
          const page = items.slice(start, start + limit);
          return json(200, { data: { items: page }, next: start + limit < items.length ? String(start + limit) : null });
        },
      },
      { method: 'GET', path: '/v1/items-by-id', handler: async (req) => json(200, { data: { items: target.filter((t) => (req.query['ids'] ?? '').split(',').includes(String(t.id))) } }) },
      {
        method: 'GET',
        path: '/v1/item/:id',
        handler: async (_req, p) => {
          const t = target.find((x) => String(x.id) === p['id']);
          return t ? json(200, t) : json(404, { error: 'not found' });
        },
      },
      { method: 'GET', path: '/v1/stats', handler: async () => json(200, { items: { total: target.length } }) },
    ]),
  );
  dir = await mkdtemp(join(tmpdir(), 'mm-http-conn-'));
});
afterAll(async () => {
  await api?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const base = () => ({
  url: `${api.url}/v1/items`,
  itemsPath: 'data.items',
  key: 'id',
  keyType: 'number' as const,
  cursor: { param: 'cursor', nextPath: 'next' },
  offsetParam: 'offset',
  limitParam: 'limit',
  pageSize: 100,
  ordered: false,
  headers: { 'x-api-key': 'k1' },
  timeoutMs: 5000,
  countPath: 'count',
});

describe('HTTP JSON connector (a real local API)', () => {
  it('pages with a cursor, counts from an endpoint, gets by batch and by key', async () => {
    const c = new HttpJsonConnector({ ...base(), countUrl: `${api.url}/v1/stats`, countPath: 'items.total', getUrl: `${api.url}/v1/items-by-id?ids={keys}` });
    requests.length = 0;
    let n = 0;
    for await (const b of c.scan({ batchSize: 1000 })) n += b.length;
    expect(n).toBe(499);
    expect(requests).toHaveLength(5);
    expect(requests[1]).toBe('/v1/items?limit=100&cursor=100');
    expect(await c.count()).toBe(499);
    expect((await c.get([1, 17, 42])).map((r) => r.key).sort()).toEqual([1, 42]);
    const single = new HttpJsonConnector({ ...base(), getUrl: `${api.url}/v1/item/{key}` });
    expect((await single.get([2, 17, 1001])).map((r) => r.key).sort((a, b) => (a as number) - (b as number))).toEqual([2, 1001]);
  });

  it('reports HTTP errors with the status', async () => {
    const c = new HttpJsonConnector({ ...base(), headers: {} });
    await expect(c.count()).rejects.toThrow(/GET http:\/\/127\.0\.0\.1:\d+\/v1\/items\?limit=100 answered HTTP 401/);
  });

  it('reads dotted paths', () => {
    expect(at({ a: { b: [1] } }, 'a.b')).toEqual([1]);
    expect(at([1], '')).toEqual([1]);
    expect(at({ a: 1 }, 'a.b')).toBeUndefined();
  });

  it('JSONL ↔ HTTP API: planted differences found exactly', async () => {
    await writeFile(join(dir, 'source.jsonl'), source.map((t) => JSON.stringify(t)).join('\n'));
    const vector = { field: 'embedding', epsilon: PLANTED.epsilon };
    const cfg = validateConfig({
      connectors: {
        src: { type: 'file', path: 'source.jsonl', key: 'id', keyType: 'number', sorted: true },
        api: { type: 'http-json', ...base(), getUrl: `${api.url}/v1/items-by-id?ids={keys}` },
      },
      checks: [
        { name: 'rows', kind: 'count', source: 'src', target: 'api' },
        { name: 'full', kind: 'diff', source: 'src', target: 'api', vector },
        { name: 'sample', kind: 'sample', source: 'src', target: 'api', vector, sampleSize: 500, orphanSampleSize: 499 },
      ],
    });
    const r = await runValidation(cfg, validationDeps(cfg, { baseDir: dir }));
    for (const c of r.checks) expect(c.error).toBeUndefined();
    const expected = { missing: [...PLANTED.missing], orphan: [...PLANTED.orphans], changed: [...PLANTED.changed] };
    expect(byProblem((r.checks[1]!.evidence as { mismatches: never[] }).mismatches)).toEqual(expected);
    expect(byProblem((r.checks[2]!.evidence as { mismatches: never[] }).mismatches)).toEqual(expected);
  });
});
