import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { findPgBin, startPostgres, type PostgresServer } from '../support/postgres';

/**
 * The "done when": a realistic schema moved between two real PostgreSQL 15 servers with
 * `pg_dump -Fc | pg_restore`; the gate (the CLI, as a user runs it) passes the clean copy (exit 0), finds
 * exactly the planted differences (deleted, orphan, changed, vector drift above epsilon but not below,
 * dropped NOT NULL, dropped index, dropped foreign key with an orphan row, composite-key rows) and names
 * them (exit 1), and exits 3 when a server is down.
 */
const BIN = resolve(__dirname, '../../bin/migration-monitor.js');
let source: PostgresServer;
let target: PostgresServer;
let dir: string;

const SCHEMA = String.raw`
  CREATE TABLE authors (id bigserial PRIMARY KEY, name text NOT NULL UNIQUE);
  CREATE TABLE media_items (
    id serial PRIMARY KEY,
    author_id bigint REFERENCES authors (id),
    title text NOT NULL,
    meta jsonb,
    published_at timestamptz,
    embedding real[] NOT NULL
  );
  CREATE INDEX media_items_title_idx ON media_items (title);
  CREATE TABLE item_tags (item_id integer NOT NULL REFERENCES media_items (id), tag text NOT NULL, weight real, PRIMARY KEY (item_id, tag));
  INSERT INTO authors (name) SELECT 'author ' || g FROM generate_series(1, 20) g;
  INSERT INTO media_items (author_id, title, meta, published_at, embedding)
    SELECT 1 + g % 20,
           CASE WHEN g % 7 = 0 THEN E'Ünïcödé 🎬 line\nbreak ' || g ELSE 'title ' || g END,
           CASE WHEN g % 5 = 0 THEN NULL ELSE jsonb_build_object('n', g, 'tags', jsonb_build_array('a', 'b')) END,
           CASE WHEN g % 3 = 0 THEN NULL ELSE timestamptz '2024-01-01 00:00:00+00' + g * interval '1 minute' END,
           ARRAY(SELECT sin(g * 100 + i)::real FROM generate_series(1, 64) i)
    FROM generate_series(1, 2000) g;
  INSERT INTO item_tags SELECT g, t, g / 100.0 FROM generate_series(1, 1000) g, unnest(ARRAY['a', 'b', 'c', 'd']) t;
`;

const PLANT = `
  DELETE FROM media_items WHERE id IN (1500, 1600, 1700);                         -- deleted
  INSERT INTO media_items (id, author_id, title, embedding) VALUES (5001, 1, 'orphan', ARRAY[0]::real[]);   -- orphan
  UPDATE media_items SET title = 'changed title' WHERE id = 42;                   -- changed
  UPDATE media_items SET embedding[1] = embedding[1] + 0.001 WHERE id = 77;       -- vector drift above epsilon
  UPDATE media_items SET embedding[1] = embedding[1] + 0.0000001 WHERE id = 88;   -- vector drift below epsilon
  ALTER TABLE media_items ALTER COLUMN title DROP NOT NULL;                        -- dropped NOT NULL
  DROP INDEX media_items_title_idx;                                                -- dropped index
  DELETE FROM item_tags WHERE item_id = 5 AND tag = 'b';                           -- composite key: deleted
  UPDATE item_tags SET weight = 99 WHERE item_id = 7 AND tag = 'c';                -- composite key: changed
  ALTER TABLE item_tags DROP CONSTRAINT item_tags_item_id_fkey;                    -- dropped foreign key ...
  INSERT INTO item_tags VALUES (9999, 'x', 1);                                     -- ... and a row it would have refused
`;

const CONFIG = `
name: media cutover gate
connectors:
  src_items: { type: postgres, url: "\${SOURCE_DB_URL}", table: media_items, key: id }
  dst_items: { type: postgres, url: "\${TARGET_DB_URL}", table: media_items, key: id }
  src_tags: { type: postgres, url: "\${SOURCE_DB_URL}", table: item_tags, key: [item_id, tag] }
  dst_tags: { type: postgres, url: "\${TARGET_DB_URL}", table: item_tags, key: [item_id, tag] }
checks:
  - { name: schema, kind: schema, source: src_items, target: dst_items, tables: [authors, media_items, item_tags], foreignKeyOrphans: true }
  - { name: items-checksum, kind: checksum, source: src_items, target: dst_items, vector: { field: embedding, epsilon: 0.00001 }, leafRows: 64 }
  - { name: items, kind: diff, source: src_items, target: dst_items, vector: { field: embedding, epsilon: 0.00001 } }
  - { name: tags, kind: diff, source: src_tags, target: dst_tags }
  - { name: tags-sample, kind: sample, source: src_tags, target: dst_tags, sampleSize: 5000, orphanSampleSize: 5000, successRate: 100 }
`;

interface Run {
  code: number | null;
  stderr: string;
  report?: { verdict: string; checks: Array<{ name: string; passed: boolean; summary: string; error?: string; evidence: Record<string, any> }> };
}

async function gate(): Promise<Run> {
  const out = join(dir, `report-${Date.now()}.json`);
  const env = { ...process.env, SOURCE_DB_URL: source.url('media'), TARGET_DB_URL: target.url('media'), MIGRATION_MONITOR_URL: undefined } as NodeJS.ProcessEnv;
  const child = spawn(process.execPath, [BIN, 'validate', '--config', join(dir, 'gate.yaml'), '--format', 'json', '--output', out, '--checkpoint-dir', join(dir, 'cp')], { env });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const code = await new Promise<number | null>((r) => child.on('close', r));
  const text = await readFile(out, 'utf8').catch(() => undefined);
  return { code, stderr, ...(text ? { report: JSON.parse(text) } : {}) };
}

const keysOf = (c: { evidence: Record<string, any> }) =>
  (c.evidence['mismatches'] as Array<{ key: unknown; problem: string }>).map((m) => `${m.problem} ${JSON.stringify(m.key)}`).sort();

beforeAll(async () => {
  [source, target] = await Promise.all([startPostgres(), startPostgres()]);
  dir = await mkdtemp(join(tmpdir(), 'mm-gate-pg-'));
  await writeFile(join(dir, 'gate.yaml'), CONFIG);
  await source.createDatabase('media');
  await source.sql(SCHEMA, 'media');
  await target.createDatabase('media');
  // the migration, with the real tools
  const bin = findPgBin()!;
  const moved = spawnSync('bash', ['-o', 'pipefail', '-c', `"${bin}/pg_dump" -Fc "${source.url('media')}" | "${bin}/pg_restore" --no-owner --exit-on-error -d "${target.url('media')}"`], { encoding: 'utf8' });
  if (moved.status !== 0) throw new Error(`pg_dump | pg_restore failed: ${moved.stderr}`);
}, 120_000);
afterAll(async () => {
  await Promise.all([source?.stop(), target?.stop()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('cutover gate on two real PostgreSQL servers (pg_dump -Fc | pg_restore)', () => {
  it('passes the clean copy: exit 0', async () => {
    const r = await gate();
    expect(r.report?.checks.map((c) => [c.name, c.passed, c.error])).toEqual([
      ['schema', true, undefined],
      ['items-checksum', true, undefined],
      ['items', true, undefined],
      ['tags', true, undefined],
      ['tags-sample', true, undefined],
    ]);
    expect(r.code).toBe(0);
  });

  it('finds exactly the planted differences, names them, exits 1', async () => {
    await target.sql(PLANT, 'media');
    const r = await gate();
    expect(r.code).toBe(1);
    const check = (n: string) => r.report!.checks.find((c) => c.name === n)!;
    for (const c of r.report!.checks) {
      expect(c.error).toBeUndefined();
      expect(c.passed).toBe(false);
    }
    const items = ['changed 42', 'changed 77', 'missing 1500', 'missing 1600', 'missing 1700', 'orphan 5001'];
    expect(keysOf(check('items'))).toEqual(items);
    expect(keysOf(check('items-checksum'))).toEqual(items);
    expect(check('items').evidence['vectors']).toMatchObject({ overEpsilon: 1 }); // 88 moved 1e-7: within epsilon
    const tags = ['changed [7,"c"]', 'missing [5,"b"]', 'orphan [9999,"x"]'];
    expect(keysOf(check('tags'))).toEqual(tags);
    expect(keysOf(check('tags-sample'))).toEqual(tags);
    const schema = (check('schema').evidence['differences'] as Array<{ object: string; problem: string }>).map((d) => `${d.problem}: ${d.object}`);
    expect(schema).toEqual([
      'changed: column public.media_items.title',
      'missing: foreign key public.item_tags FOREIGN KEY (item_id) REFERENCES media_items(id)',
      'missing: index public.media_items USING btree (title)',
      // the orphan was inserted with an explicit id: the target's sequence now lags behind it
      'sequence behind: sequence public.media_items_id_seq',
      'orphan rows: rows public.item_tags → public.media_items',
    ]);
    expect(check('schema').summary).toMatch(/nullable: false → true/);
    // the verdict line names what failed
    expect(r.stderr).toMatch(/fail/i);
  });

  it('exits 3 naming the side when a server is down', async () => {
    await target.stop();
    const r = await gate();
    expect(r.code).toBe(3);
    expect(r.report?.checks.every((c) => c.error !== undefined)).toBe(true);
    expect(r.report?.checks[0]!.error).toMatch(/target connector "dst_items" \(postgres:public\.media_items\)/);
  });
});
