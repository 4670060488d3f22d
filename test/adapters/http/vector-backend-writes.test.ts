/** The write mappings over a real socket: what Milvus, OpenSearch and a custom store receive, and how their answers are read. */
import { httpVectorBackend } from '../../../lib/adapters/http/vector-backend';
import type { WriteBatch } from '../../../lib/core/search/writes';
import { startCapture, type CaptureServer } from '../../support/http-capture';

let cap: CaptureServer;
beforeEach(async () => {
  cap = await startCapture();
});
afterEach(() => cap.stop());

const upsert: WriteBatch = { op: 'upsert', vectors: [{ id: 'a', vector: [0.5, 1], version: 7, metadata: { topic: 'x' } }, { id: 'b', vector: [1, 0], version: 8 }] };
const del: WriteBatch = { op: 'delete', items: [{ id: 'a', version: 9 }] };
const signal = new AbortController().signal;
const json = (v: unknown) => ({ status: 200, body: JSON.stringify(v), headers: { 'content-type': 'application/json' } });

it('Milvus: entities/upsert with the vector field, version and metadata as columns; delete by an id filter; code != 0 is a failure', async () => {
  const b = httpVectorBackend('primary', { kind: 'milvus', url: cap.url, collection: 'docs', vectorField: 'embedding', dbName: 'prod' });
  cap.queue(json({ code: 0, data: {} }), json({ code: 0 }), json({ code: 1100, message: 'collection not loaded' }));
  await b.write(upsert, signal);
  await b.write(del, signal);
  await expect(b.write(upsert, signal)).rejects.toThrow(/code=1100: collection not loaded/);
  expect(cap.requests[0]!.url).toBe('/v2/vectordb/entities/upsert');
  expect(JSON.parse(cap.requests[0]!.body)).toEqual({
    dbName: 'prod',
    collectionName: 'docs',
    data: [
      { id: 'a', embedding: [0.5, 1], version: 7, topic: 'x' },
      { id: 'b', embedding: [1, 0], version: 8 },
    ],
  });
  expect(cap.requests[1]!.url).toBe('/v2/vectordb/entities/delete');
  expect(JSON.parse(cap.requests[1]!.body)).toEqual({ dbName: 'prod', collectionName: 'docs', filter: 'id in ["a"]' });
  b.close();
});

it('OpenSearch: _bulk NDJSON with external versions; a 409 (already newer) is done, any other item error fails the batch', async () => {
  const b = httpVectorBackend('fallback', { kind: 'opensearch', url: cap.url, index: 'docs', vectorField: 'embedding' });
  cap.queue(json({ errors: true, items: [{ index: { status: 201 } }, { index: { status: 409 } }] }), json({ errors: true, items: [{ index: { status: 201 } }, { index: { status: 429 } }] }), json({ items: [{ delete: { status: 404 } }] }));
  await b.write(upsert, signal);
  await expect(b.write(upsert, signal)).rejects.toThrow(/refused 1 of 2 items of the upsert \(first: item 1, status 429\)/);
  await b.write(del, signal);
  expect(cap.requests[0]!.url).toBe('/_bulk');
  expect(cap.requests[0]!.headers['content-type']).toBe('application/x-ndjson');
  expect(cap.requests[0]!.body.trimEnd().split('\n').map((l) => JSON.parse(l))).toEqual([
    { index: { _index: 'docs', _id: 'a', version: 7, version_type: 'external' } },
    { embedding: [0.5, 1], topic: 'x' },
    { index: { _index: 'docs', _id: 'b', version: 8, version_type: 'external' } },
    { embedding: [1, 0] },
  ]);
  expect(JSON.parse(cap.requests[2]!.body)).toEqual({ delete: { _index: 'docs', _id: 'a', version: 9, version_type: 'external' } });
  b.close();
});

it('a custom mapping without writes cannot be written (501, counted as the store\'s failure); HTTP errors keep their status', async () => {
  const b = httpVectorBackend('primary', { kind: 'custom', url: cap.url, mapping: { path: '/s', body: {}, results: 'r', id: 'id', score: 's' } });
  expect(b.writable).toBe(false);
  await expect(b.write(upsert, signal)).rejects.toMatchObject({ status: 501 });
  const g = httpVectorBackend('primary', { kind: 'generic', url: cap.url });
  expect(g.writable).toBe(true);
  cap.queue({ status: 422, body: JSON.stringify({ error: { message: 'wrong dimension count' } }), headers: { 'content-type': 'application/json' } });
  await expect(g.write(upsert, signal)).rejects.toMatchObject({ status: 422, message: expect.stringMatching(/HTTP 422 on upsert: wrong dimension count/) });
  b.close();
  g.close();
});

it('a generic store gets the client\'s checked body as received (no second print of its numbers), the same batch as rendering gives; other formats and replays are rendered', async () => {
  const { parseUpsertRequest } = await import('../../../lib/core/search/writes');
  const text = '{"vectors": [{"id": "a", "vector": [0.1, 1e-7, -2.5], "version": 7, "metadata": {"topic": "x"}}]}';
  const parsed = parseUpsertRequest({ method: 'POST', path: '/upsert', query: {}, headers: { 'content-type': 'application/json' }, body: text });
  const g = httpVectorBackend('primary', { kind: 'generic', url: cap.url });
  const m = httpVectorBackend('fallback', { kind: 'milvus', url: cap.url, collection: 'docs', vectorField: 'embedding' });
  cap.queue(json({ upserted: 1 }), json({ code: 0 }), json({ upserted: 1 }));
  await g.write(parsed, signal);
  await m.write(parsed, signal);
  const { raw: _raw, ...replayed } = parsed as WriteBatch & { raw?: string };
  await g.write(replayed as WriteBatch, signal);
  expect(cap.requests[0]!.body).toBe(text);
  expect(JSON.parse(cap.requests[1]!.body).data).toEqual([{ id: 'a', embedding: [0.1, 1e-7, -2.5], version: 7, topic: 'x' }]);
  expect(cap.requests[2]!.body).not.toBe(text);
  expect(JSON.parse(cap.requests[2]!.body)).toEqual(JSON.parse(text));
  g.close();
  m.close();
});
