import { Client } from 'pg';
import type { ConnectorConfig } from '../../core/validation/config';
import type { SideInventory, TableInventory } from '../../core/preflight/preflight';

type PgConfig = Extract<ConnectorConfig, { type: 'postgres' }>;

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '::1', '[::1]', '']);

/**
 * Preflight inventory of a PostgreSQL side: server version, the connector's table (or every table of its
 * schema) with pg_class row estimates and pg_total_relation_size, and the data directory from pg_settings
 * when the server runs on this machine (free disk is read there). A table whose statistics were never
 * gathered (reltuples < 0) is counted exactly. A missing table is an answer (the target is often empty), not
 * an error unless `requireTable` (the source).
 */
export async function pgInventory(cfg: PgConfig, scope: 'table' | 'schema', opts: { connectTimeoutMs?: number; requireTable?: boolean } = {}): Promise<SideInventory> {
  const client = new Client({ connectionString: cfg.url, connectionTimeoutMillis: opts.connectTimeoutMs ?? 10_000 });
  // a server that goes away mid-query emits 'error' on the client: the query's own rejection reports it
  client.on('error', () => undefined);
  await client.connect();
  try {
    // `15.8 (Debian 15.8-0+deb12u1)` → `15.8`
    const version = (await client.query<{ v: string }>(`SELECT current_setting('server_version') AS v`)).rows[0]!.v.split(' ')[0]!;
    const rows = (
      await client.query<{ name: string; reltuples: string; bytes: string }>(
        `SELECT c.relname AS name, c.reltuples::float8::text AS reltuples, pg_total_relation_size(c.oid)::text AS bytes
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND ($2::text IS NULL OR c.relname = $2)
          ORDER BY c.relname`,
        [cfg.schema, scope === 'table' ? cfg.table : null],
      )
    ).rows;
    if (opts.requireTable && !rows.some((r) => r.name === cfg.table)) throw new Error(`table ${cfg.schema}.${cfg.table} does not exist`);
    const tables: TableInventory[] = [];
    for (const r of rows) {
      const estimate = Number(r.reltuples);
      if (estimate >= 0) {
        tables.push({ name: `${cfg.schema}.${r.name}`, rows: Math.round(estimate), bytes: Number(r.bytes), exact: false });
        continue;
      }
      const exact = (await client.query<{ n: string }>(`SELECT count(*)::text AS n FROM "${cfg.schema.replace(/"/g, '""')}"."${r.name.replace(/"/g, '""')}"`)).rows[0]!.n;
      tables.push({ name: `${cfg.schema}.${r.name}`, rows: Number(exact), bytes: Number(r.bytes), exact: true });
    }
    const inv: SideInventory = { label: `postgres:${cfg.schema}.${scope === 'table' ? cfg.table : '*'}`, version, tables };
    if (isLocal(cfg.url)) {
      // hidden from roles without pg_read_all_settings: then no row, and the caller says the disk is unknown
      const dir = (await client.query<{ setting: string }>(`SELECT setting FROM pg_settings WHERE name = 'data_directory'`)).rows[0]?.setting;
      if (dir) inv.dataDirectory = dir;
    }
    return inv;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** The server is on this machine: a loopback host or a Unix socket. */
export function isLocal(url: string): boolean {
  const u = new URL(url);
  const hostParam = u.searchParams.get('host');
  if (hostParam?.startsWith('/')) return true;
  return LOCAL_HOSTS.has(u.hostname);
}
