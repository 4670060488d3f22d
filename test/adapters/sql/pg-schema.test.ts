import { validationDeps } from '../../../lib/compose/validation-runtime';
import { validateConfig } from '../../../lib/core/validation/config';
import { runValidation } from '../../../lib/core/validation/engine';
import type { SchemaDifference } from '../../../lib/core/validation/schema';
import { startPostgres, type PostgresServer } from '../../support/postgres';

/** The schema check on a real PostgreSQL 15: what pgloader-style conversions lose is named by object. */
let pg: PostgresServer;
let src: string;
let dst: string;

const SCHEMA = `
  CREATE TABLE authors (id bigserial PRIMARY KEY, name text NOT NULL UNIQUE);
  CREATE TABLE media_items (
    id serial PRIMARY KEY,
    author_id bigint REFERENCES authors (id),
    title text NOT NULL,
    kind text NOT NULL DEFAULT 'video' CHECK (kind IN ('video', 'audio')),
    created_at timestamptz NOT NULL DEFAULT now(),
    embedding real[]
  );
  CREATE INDEX media_items_title_idx ON media_items (title);
  CREATE INDEX media_items_created_idx ON media_items (created_at DESC);
  CREATE TABLE item_tags (item_id integer REFERENCES media_items (id), tag text, weight real, PRIMARY KEY (item_id, tag));
  INSERT INTO authors (name) SELECT 'author ' || g FROM generate_series(1, 5) g;
  INSERT INTO media_items (author_id, title, embedding) SELECT 1 + g % 5, 'title ' || g, ARRAY[g, g + 1]::real[] FROM generate_series(1, 50) g;
  INSERT INTO item_tags SELECT g, t, 1 FROM generate_series(1, 50) g, unnest(ARRAY['a', 'b']) t;
`;

beforeAll(async () => {
  pg = await startPostgres();
  src = await pg.createDatabase('src');
  dst = await pg.createDatabase('dst');
  await pg.sql(SCHEMA, 'src');
  await pg.sql(SCHEMA, 'dst');
}, 60_000);
afterAll(async () => {
  await pg?.stop();
});

const gate = (extra: Record<string, unknown> = {}) =>
  validateConfig({
    connectors: {
      src: { type: 'postgres', url: src, table: 'media_items', key: 'id' },
      dst: { type: 'postgres', url: dst, table: 'media_items', key: 'id' },
    },
    checks: [{ name: 'schema', kind: 'schema', source: 'src', target: 'dst', tables: ['authors', 'media_items', 'public.item_tags'], ...extra }],
  });

describe('schema check (PostgreSQL 15)', () => {
  it('passes identical schemas, and a renamed index is the same index', async () => {
    await pg.sql('ALTER INDEX media_items_created_idx RENAME TO created_idx_renamed', 'dst');
    const cfg = gate({ foreignKeyOrphans: true });
    const r = await runValidation(cfg, validationDeps(cfg));
    const c = r.checks[0]!;
    expect(c.error).toBeUndefined();
    expect(c.passed).toBe(true);
    expect(c.summary).toMatch(/^schemas match: \d+ objects compared, 2 foreign keys without orphan rows/);
    expect(c.evidence['objectsCompared']).toBeGreaterThan(20);
  });

  it('names every lost NOT NULL, default, index, foreign key, check, sequence position and orphan row, by object', async () => {
    await pg.sql(
      `ALTER TABLE media_items ALTER COLUMN title DROP NOT NULL;
       ALTER TABLE media_items ALTER COLUMN kind SET DEFAULT NULL;
       DROP INDEX media_items_title_idx;
       ALTER TABLE item_tags DROP CONSTRAINT item_tags_item_id_fkey;
       INSERT INTO item_tags VALUES (999, 'x', 1);
       ALTER TABLE media_items DROP CONSTRAINT media_items_kind_check;
       ALTER TABLE media_items ADD CONSTRAINT media_items_kind_check CHECK (kind IN ('video', 'audio', 'image'));
       ALTER TABLE authors ALTER COLUMN name TYPE varchar(50);
       SELECT setval('media_items_id_seq', 10);`,
      'dst',
    );
    const cfg = gate({ foreignKeyOrphans: true });
    const r = await runValidation(cfg, validationDeps(cfg));
    const c = r.checks[0]!;
    expect(c.error).toBeUndefined();
    expect(c.passed).toBe(false);
    const found = (c.evidence['differences'] as SchemaDifference[]).map((d) => `${d.problem}: ${d.object}: ${d.detail}`);
    expect(found).toEqual(
      expect.arrayContaining([
        'changed: column public.authors.name: type: text → character varying(50)',
        "changed: column public.media_items.kind: default: 'video'::text → none",
        'changed: column public.media_items.title: nullable: false → true',
        'missing: index public.media_items USING btree (title): valid: true',
        expect.stringMatching(/^missing: foreign key public\.item_tags FOREIGN KEY \(item_id\) REFERENCES media_items\(id\)/),
        expect.stringMatching(/^missing: check public\.media_items CHECK \(\(kind = ANY \(ARRAY\['video'::text, 'audio'::text\]\)\)\)/),
        expect.stringMatching(/^extra: check public\.media_items CHECK .*'image'::text/),
        'sequence behind: sequence public.media_items_id_seq: last value 10 < max(public.media_items.id) 50: the next insert would reuse an id',
        'orphan rows: rows public.item_tags → public.media_items: 1 rows of public.item_tags (item_id) have no parent in public.media_items, e.g. 999',
      ]),
    );
    expect(found).toHaveLength(9);
    expect(c.summary).toMatch(/^9 schema differences: /);
    expect(c.evidence).toMatchObject({ missing: 3, extra: 1, changed: 3, sequencesBehind: 1, orphanRows: 1 });
  });

  it('ignoreKinds leaves a kind out; a table missing on the target is named', async () => {
    await pg.sql('CREATE TABLE only_source (id int PRIMARY KEY)', 'src');
    const cfg = gate({ tables: ['only_source'], ignoreKinds: ['primary key', 'column'] });
    const r = await runValidation(cfg, validationDeps(cfg));
    expect((r.checks[0]!.evidence['differences'] as SchemaDifference[]).map((d) => `${d.problem}: ${d.object}`)).toEqual(['missing: table public.only_source']);
  });

  it('refuses connectors that cannot describe a schema', async () => {
    const cfg = validateConfig({
      connectors: { src: { type: 'postgres', url: src, table: 'media_items', key: 'id' }, f: { type: 'file', path: 'x.jsonl', key: 'id' } },
      checks: [{ kind: 'schema', source: 'src', target: 'f' }],
    });
    const r = await runValidation(cfg, validationDeps(cfg, { baseDir: '/tmp' }));
    expect(r.checks[0]!.error).toMatch(/cannot describe its schema/);
  });
});
