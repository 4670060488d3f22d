// A vector store on a real PostgreSQL table: PGlite (PostgreSQL in WASM) behind a small HTTP server that
// speaks the search proxy's `generic` format (POST /upsert, /delete, /search), with fault controls.
// A separate process because PGlite loads itself with a dynamic import, which jest's VM does not allow.
//
//   node test/support/pglite-vector-store.mjs   → prints {"port": N} on its first line
//   then {"controlPort": M}: POST /control {"mode": "ok" | "error" | "slow" | "down", "slowMs"?}, GET /rows, GET /status
//
// The table keeps each id's version and applies a write only when it is newer; a delete leaves a tombstone.
// Vectors are pgvector's `vector(<dimensions>)` (@electric-sql/pglite-pgvector; PGLITE_VECTOR_DIMENSIONS, default 4):
// a vector of another length is refused by the column type itself, and the search is pgvector's cosine distance.
import http from 'node:http';
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';

const dimensions = Number(process.env.PGLITE_VECTOR_DIMENSIONS ?? 4);
const db = await PGlite.create({ extensions: { vector } });
await db.exec('CREATE EXTENSION vector');
await db.exec(`CREATE TABLE docs (id text PRIMARY KEY, version bigint NOT NULL, embedding vector(${dimensions}), metadata jsonb NOT NULL, deleted boolean NOT NULL)`);

let mode = 'ok';
let slowMs = 3000;
let holding = 0;
let writes = 0;

const send = (res, status, body) => {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
};
const readBody = (req) =>
  new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });

async function store(req, res, path) {
  if (path === '/rows') {
    const r = await db.query('SELECT id, version, deleted FROM docs ORDER BY id');
    return send(res, 200, { rows: r.rows.map((x) => ({ id: x.id, version: Number(x.version), deleted: x.deleted })) });
  }
  if (path === '/status') {
    const t = await db.query(`SELECT format_type(atttypid, atttypmod) AS type FROM pg_attribute WHERE attrelid = 'docs'::regclass AND attname = 'embedding'`);
    return send(res, 200, { mode, holding, writes, embeddingType: t.rows[0].type });
  }
  const body = await readBody(req);
  if (path === '/upsert' || path === '/delete') {
    writes++;
    if (mode === 'error') return send(res, 500, { error: { code: 'internal', message: 'postgres adapter failing on purpose' } });
    if (mode === 'slow') {
      holding++;
      await new Promise((r) => setTimeout(r, slowMs));
      holding--;
    }
    const b = JSON.parse(body);
    await db.transaction(async (tx) => {
      if (path === '/upsert') {
        for (const v of b.vectors) {
          await tx.query(
            `INSERT INTO docs (id, version, embedding, metadata, deleted) VALUES ($1, $2, $3::vector, $4, false)
             ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version, embedding = EXCLUDED.embedding, metadata = EXCLUDED.metadata, deleted = false
             WHERE docs.version < EXCLUDED.version`,
            [v.id, v.version, JSON.stringify(v.vector), JSON.stringify(v.metadata ?? {})],
          );
        }
      } else {
        for (const d of b.items) {
          await tx.query(
            `INSERT INTO docs (id, version, embedding, metadata, deleted) VALUES ($1, $2, NULL, '{}', true)
             ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version, embedding = NULL, deleted = true WHERE docs.version < EXCLUDED.version`,
            [d.id, d.version],
          );
        }
      }
    });
    return send(res, 200, { ok: true });
  }
  if (path === '/search') {
    const q = JSON.parse(body);
    const r = await db.query(`SELECT id, 1 - (embedding <=> $1::vector) AS score FROM docs WHERE NOT deleted ORDER BY embedding <=> $1::vector LIMIT $2`, [JSON.stringify(q.vector), q.topK]);
    return send(res, 200, { results: r.rows.map((x) => ({ id: x.id, score: Number(x.score) })) });
  }
  send(res, 404, { error: { code: 'not_found', message: `no route ${path}` } });
}

const handler = (req, res) => {
  store(req, res, new URL(req.url, 'http://x').pathname).catch((e) => send(res, 500, { error: { code: 'internal', message: String(e?.message ?? e) } }));
};
let server = http.createServer(handler);
let port = 0;
const listen = () => new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
await listen();
port = server.address().port;
process.stdout.write(JSON.stringify({ port }) + '\n');

// `down` closes the listening socket; a control connection on a side port brings it back.
const side = http.createServer(async (req, res) => {
  const path = new URL(req.url, 'http://x').pathname;
  if (path !== '/control') return handler(req, res);
  const b = JSON.parse(await readBody(req));
  if (b.slowMs !== undefined) slowMs = b.slowMs;
  if (b.mode === 'down' && mode !== 'down') {
    mode = 'down';
    await new Promise((resolve) => {
      server.close(resolve);
      server.closeAllConnections();
    });
    return send(res, 200, { mode });
  }
  if (b.mode !== 'down' && mode === 'down') {
    server = http.createServer(handler);
    await listen();
  }
  mode = b.mode;
  send(res, 200, { mode });
});
await new Promise((resolve) => side.listen(0, '127.0.0.1', resolve));
process.stdout.write(JSON.stringify({ controlPort: side.address().port }) + '\n');
process.on('SIGTERM', async () => {
  await db.close();
  process.exit(0);
});
