/**
 * The HTTP JSON adapter against servers on 127.0.0.1 that answer in the wire format of each store (Milvus,
 * OpenSearch and Qdrant cannot run here). They record what the adapter sent, so the request mapping is
 * checked as well as the response mapping.
 */
import http from 'node:http';
import { getEventListeners } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { WriteBatch } from '../../../lib/core/search/writes';
import { httpVectorBackend, VectorBackendError, type HttpVectorBackend } from '../../../lib/adapters/http/vector-backend';
import { serveHttp, type RunningServer } from '../../../lib/adapters/http/server';
import type { HttpRequest, HttpResponse } from '../../../lib/core/http';

const never = new AbortController().signal;
let server: RunningServer;
let seen: HttpRequest[] = [];
let answer: (req: HttpRequest) => Promise<HttpResponse> = async () => ({ status: 200, headers: {}, body: '{}' });
const reply = (status: number, body: unknown): HttpResponse => ({ status, headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
const backends: HttpVectorBackend[] = [];
const make = (config: Record<string, unknown>, auth?: Parameters<typeof httpVectorBackend>[2]) => {
  const b = httpVectorBackend('primary', { url: server.url, ...config }, auth);
  backends.push(b);
  return b;
};

beforeAll(async () => {
  server = await serveHttp(async (req) => {
    seen.push(req);
    return answer(req);
  });
});
afterAll(async () => {
  await server.close();
});
beforeEach(() => {
  seen = [];
});
afterEach(() => {
  for (const b of backends.splice(0)) b.close();
});

describe('Milvus REST v2 mapping', () => {
  it('sends the search request Milvus expects and maps its answer', async () => {
    answer = async () => reply(200, { code: 0, cost: 0, data: [{ id: 7, distance: 0.93, title: 'Seven' }, { id: 'b', distance: 0.5 }] });
    const b = make({ kind: 'milvus', collection: 'docs', vectorField: 'embedding', outputFields: ['title'], dbName: 'prod' }, { type: 'bearer', token: 'root:Milvus' });
    const hits = await b.search({ vector: [0.1, 0.2], topK: 2, filter: 'topic == "billing"' }, never);
    expect(hits).toEqual([
      { id: '7', score: 0.93, metadata: { title: 'Seven' } },
      { id: 'b', score: 0.5, metadata: {} },
    ]);
    expect(seen[0]!.path).toBe('/v2/vectordb/entities/search');
    expect(seen[0]!.headers['authorization']).toBe('Bearer root:Milvus');
    expect(JSON.parse(seen[0]!.body!)).toEqual({
      dbName: 'prod',
      collectionName: 'docs',
      data: [[0.1, 0.2]],
      annsField: 'embedding',
      limit: 2,
      filter: 'topic == "billing"',
      outputFields: ['title'],
    });
  });

  it('leaves out the filter when there is none', async () => {
    answer = async () => reply(200, { code: 0, data: [] });
    await make({ kind: 'milvus', collection: 'docs' }).search({ vector: [1], topK: 1 }, never);
    expect(JSON.parse(seen[0]!.body!)).not.toHaveProperty('filter');
  });

  it('treats an HTTP 200 with a non-zero code as an error, with Milvus message', async () => {
    answer = async () => reply(200, { code: 1100, message: 'vector dimension mismatch' });
    const err = await make({ kind: 'milvus', collection: 'docs' })
      .search({ vector: [1], topK: 1 }, never)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VectorBackendError);
    expect((err as Error).message).toBe(`primary at ${server.url} answered code=1100: vector dimension mismatch`);
    expect((err as VectorBackendError).status).toBeUndefined();
  });
});

describe('OpenSearch k-NN mapping', () => {
  it('sends a knn query with the filter inside it and maps hits.hits', async () => {
    answer = async () => reply(200, { took: 3, hits: { total: { value: 2 }, hits: [{ _id: 'a1', _score: 1.7, _source: { title: 'A' } }, { _id: 'a2', _score: 1.1, _source: { title: 'B' } }] } });
    const b = make({ kind: 'opensearch', index: 'docs-v2', vectorField: 'embedding', sourceFields: ['title'] }, { type: 'basic', username: 'admin', password: 'pw' });
    const hits = await b.search({ vector: [0.5, 0.5], topK: 2, filter: { term: { topic: 'billing' } } }, never);
    expect(hits).toEqual([
      { id: 'a1', score: 1.7, metadata: { title: 'A' } },
      { id: 'a2', score: 1.1, metadata: { title: 'B' } },
    ]);
    expect(seen[0]!.path).toBe('/docs-v2/_search');
    expect(seen[0]!.headers['authorization']).toBe(`Basic ${Buffer.from('admin:pw').toString('base64')}`);
    expect(JSON.parse(seen[0]!.body!)).toEqual({
      size: 2,
      _source: ['title'],
      query: { knn: { embedding: { vector: [0.5, 0.5], k: 2, filter: { term: { topic: 'billing' } } } } },
    });
  });

  it('keeps the HTTP status and OpenSearch reason of an error', async () => {
    answer = async () => reply(400, { error: { type: 'parsing_exception', reason: 'unknown field [vectr]' }, status: 400 });
    const err = (await make({ kind: 'opensearch', index: 'docs', vectorField: 'v' })
      .search({ vector: [1], topK: 1 }, never)
      .catch((e: unknown) => e)) as VectorBackendError;
    expect(err.status).toBe(400);
    expect(err.message).toMatch(/HTTP 400: unknown field \[vectr\]$/);
  });
});

describe('custom mapping (Qdrant REST as the example)', () => {
  it('renders the template, maps the answer and checks the status field', async () => {
    answer = async () => reply(200, { status: 'ok', time: 0.001, result: [{ id: 42, score: 0.8, payload: { city: 'Berlin' } }] });
    const b = make({
      kind: 'custom',
      mapping: {
        path: '/collections/docs/points/search',
        body: { vector: '{{vector}}', limit: '{{topK}}', filter: '{{filter}}', with_payload: true },
        results: 'result',
        id: 'id',
        score: 'score',
        metadata: 'payload',
        okWhen: { path: 'status', in: ['ok'] },
        errorMessage: 'status.error',
        headers: { 'api-key': 'k' },
      },
    });
    await expect(b.search({ vector: [1, 2], topK: 1 }, never)).resolves.toEqual([{ id: '42', score: 0.8, metadata: { city: 'Berlin' } }]);
    expect(seen[0]!.headers['api-key']).toBe('k');
    expect(JSON.parse(seen[0]!.body!)).toEqual({ vector: [1, 2], limit: 1, with_payload: true });
  });
});

describe('generic mapping and transport', () => {
  it('keeps a path prefix of the base URL', async () => {
    answer = async () => reply(200, { results: [] });
    const b = httpVectorBackend('fallback', { kind: 'generic', url: `${server.url}/old-search/` });
    backends.push(b);
    await b.search({ vector: [1], topK: 1 }, never);
    expect(seen[0]!.path).toBe('/old-search/search');
  });

  it('refuses answers of the wrong shape as a 502-class failure', async () => {
    const b = make({ kind: 'generic' });
    answer = async () => reply(200, { hits: [] });
    await expect(b.search({ vector: [1], topK: 1 }, never)).rejects.toMatchObject({ status: 502, message: expect.stringMatching(/no array at "results"/) });
    answer = async () => reply(200, { results: [{ id: 'x', score: 'high' }] });
    await expect(b.search({ vector: [1], topK: 1 }, never)).rejects.toMatchObject({ status: 502, message: expect.stringMatching(/hit 0 has no numeric score/) });
    answer = async () => reply(200, '<html>gateway</html>');
    await expect(b.search({ vector: [1], topK: 1 }, never)).rejects.toMatchObject({ status: 502, message: expect.stringMatching(/not JSON/) });
    answer = async () => reply(503, '<html>unavailable</html>');
    await expect(b.search({ vector: [1], topK: 1 }, never)).rejects.toMatchObject({ status: 503 });
  });

  it('refuses a response larger than the limit', async () => {
    answer = async () => reply(200, { results: [], pad: 'x'.repeat(5000) });
    const b = make({ kind: 'generic', maxResponseBytes: 1024 });
    await expect(b.search({ vector: [1], topK: 1 }, never)).rejects.toThrow(/exceeds 1024 bytes/);
  });

  it('stops when the signal aborts (the request is cancelled, not left running)', async () => {
    let release!: () => void;
    answer = () => new Promise((r) => (release = () => r(reply(200, { results: [] }))));
    const ac = new AbortController();
    const p = make({ kind: 'generic' }).search({ vector: [1], topK: 1 }, ac.signal);
    while (!seen.length) await new Promise((r) => setImmediate(r));
    ac.abort(new Error('deadline'));
    await expect(p).rejects.toMatchObject({ name: 'AbortError' });
    release();
  });

  it('a write stops when the signal aborts: the store sees its connection closed; an aborted signal sends nothing', async () => {
    const held: http.ServerResponse[] = [];
    let closed = 0;
    let received = 0;
    const holding = http.createServer((req, res) => {
      received++;
      req.resume();
      res.on('close', () => closed++);
      held.push(res);
    });
    await new Promise<void>((r) => holding.listen(0, '127.0.0.1', r));
    try {
      const b = httpVectorBackend('primary', { kind: 'generic', url: `http://127.0.0.1:${(holding.address() as AddressInfo).port}` });
      backends.push(b);
      const batch: WriteBatch = { op: 'upsert', vectors: [{ id: 'a', vector: [1], version: 1 }] };
      const ac = new AbortController();
      const p = b.write(batch, ac.signal);
      while (!held.length) await new Promise((r) => setImmediate(r));
      ac.abort(new Error('follower budget'));
      await expect(p).rejects.toMatchObject({ name: 'AbortError', cause: { message: 'follower budget' } });
      while (!closed) await new Promise((r) => setImmediate(r));
      await expect(b.write(batch, ac.signal)).rejects.toMatchObject({ name: 'AbortError' });
      expect(received).toBe(1);
    } finally {
      holding.closeAllConnections();
      await new Promise((r) => holding.close(r));
    }
  });

  it('leaves no listener on a long-lived signal once its calls have ended (answered, failed or refused)', async () => {
    const ac = new AbortController();
    const b = make({ kind: 'generic' });
    answer = async (req) => (req.path === '/search' ? reply(200, { results: [] }) : reply(200, { upserted: 1 }));
    for (let i = 0; i < 5; i++) {
      await b.search({ vector: [1], topK: 1 }, ac.signal);
      await b.write({ op: 'upsert', vectors: [{ id: 'a', vector: [1], version: i }] }, ac.signal);
    }
    answer = async () => reply(503, { error: { message: 'busy' } });
    await expect(b.write({ op: 'delete', items: [{ id: 'a', version: 9 }] }, ac.signal)).rejects.toMatchObject({ status: 503 });
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
  });

  it('names what is wrong with a configuration', () => {
    expect(() => httpVectorBackend('primary', { kind: 'milvus', url: 'ftp://x' })).toThrow(/invalid primary backend configuration: url: .*; collection/);
    expect(() => httpVectorBackend('primary', { kind: 'pinecone', url: 'http://x' })).toThrow(/invalid primary backend configuration: kind/);
  });
});
