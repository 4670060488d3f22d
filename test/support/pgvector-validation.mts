// Validation between two real pgvector tables: PGlite (PostgreSQL in WASM) with the pgvector extension
// (@electric-sql/pglite-pgvector), read by the PostgreSQL connector through node-postgres
// (`@electric-sql/pglite/node-postgres`). Its own process: PGlite loads itself with a dynamic import, which
// jest's VM does not allow (test/adapters/sql/pgvector-validation.test.ts runs it and checks what it prints).
//
//   node --import tsx test/support/pgvector-validation.mts  → one JSON line: the column type, checksum kind, report
import { PGlite } from '@electric-sql/pglite';
import { createPgConfig } from '@electric-sql/pglite/node-postgres';
import { vector } from '@electric-sql/pglite-pgvector';
import { PgConnector } from '../../lib/adapters/sql/pg-connector';
import { validationDeps } from '../../lib/compose/validation-runtime';
import { validateConfig } from '../../lib/core/validation/config';
import { runValidation } from '../../lib/core/validation/engine';

const DIM = 3;
const ROWS = 200;
const embedding = (i: number) => Array.from({ length: DIM }, (_, d) => Math.round(Math.sin(i * (d + 1)) * 1000) / 1000);

async function table(rows: Array<{ id: number; embedding: number[]; label: string }>): Promise<PGlite> {
  const db = await PGlite.create({ extensions: { vector } });
  await db.exec('CREATE EXTENSION vector');
  await db.exec(`CREATE TABLE items (id integer PRIMARY KEY, embedding vector(${DIM}) NOT NULL, label text NOT NULL)`);
  for (const r of rows) await db.query('INSERT INTO items VALUES ($1, $2::vector, $3)', [r.id, JSON.stringify(r.embedding), r.label]);
  return db;
}

const source = Array.from({ length: ROWS }, (_, i) => ({ id: i + 1, embedding: embedding(i + 1), label: `item ${i + 1}` }));
const target = source
  .filter((r) => r.id !== 99) // missing from the target
  .map((r) =>
    r.id === 7 ? { ...r, embedding: r.embedding.map((x, d) => (d === 2 ? x + 1e-6 : x)) } // float noise: within epsilon
    : r.id === 42 ? { ...r, embedding: r.embedding.map((x, d) => (d === 0 ? x + 0.5 : x)) } // a different vector
    : r,
  )
  .concat([{ id: 300, embedding: embedding(300), label: 'orphan' }]);

const dbs: Record<string, PGlite> = { src: await table(source), dst: await table(target) };
const type = (await dbs['src']!.query<{ t: string }>("SELECT format_type(atttypid, atttypmod) AS t FROM pg_attribute WHERE attrelid = 'items'::regclass AND attname = 'embedding'")).rows[0]!.t;
const extension = (await dbs['src']!.query<{ v: string }>("SELECT extversion AS v FROM pg_extension WHERE extname = 'vector'")).rows[0]!.v;

const connector = (name: string) => ({ type: 'postgres', url: `postgres://pglite/${name}`, table: 'items', key: 'id' });
const cfg = validateConfig({
  connectors: { src: connector('src'), dst: connector('dst') },
  checks: [
    { name: 'rows', kind: 'count', source: 'src', target: 'dst' },
    { name: 'bisect', kind: 'checksum', source: 'src', target: 'dst', vector: { field: 'embedding', epsilon: 1e-5 }, segments: 8, leafRows: 16, strategy: 'bisect' },
    { name: 'full', kind: 'diff', source: 'src', target: 'dst', vector: { field: 'embedding', epsilon: 1e-5 } },
  ],
});
const deps = validationDeps(cfg);
deps.createConnector = (name, c) => {
  if (c.type !== 'postgres') throw new Error(`unexpected connector ${name}`);
  return new PgConnector(c, { pool: { ...createPgConfig(dbs[name]!), max: 1 } });
};
const report = await runValidation(cfg, deps);
const src = cfg.connectors['src']!;
if (src.type !== 'postgres') throw new Error('src is not postgres');
const probe = new PgConnector(src, { pool: { ...createPgConfig(dbs['src']!), max: 1 } });
const checksumKind = (await probe.checksum({}, { ignore: [] }))!.kind;
await probe.close();
process.stdout.write(JSON.stringify({ type, extension, checksumKind, report }) + '\n');
for (const db of Object.values(dbs)) await db.close();
