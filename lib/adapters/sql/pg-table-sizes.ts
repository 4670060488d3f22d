import { Client } from 'pg';

/**
 * Table sizes from a PostgreSQL catalog, by `schema.table` (what pg_dump / pg_restore --verbose name):
 * the weights `run --source-url` gives a dump or restore, since those tools print no numbers. Empty
 * tables weigh one page, so they still count.
 */
export async function pgTableSizes(url: string): Promise<Map<string, number>> {
  const c = new Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  await c.connect();
  try {
    const r = await c.query<{ name: string; bytes: string }>(
      `select n.nspname || '.' || c.relname as name, greatest(pg_table_size(c.oid), 8192)::text as bytes
         from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where c.relkind = 'r' and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg\\_toast%'`,
    );
    return new Map(r.rows.map((row) => [row.name, Number(row.bytes)]));
  } finally {
    await c.end();
  }
}
