import { Pool, types as pgTypes } from 'pg';
import type { ConnectorConfig } from '../../core/validation/config';
import type { FieldSelection, Key, KeyRange, RangeChecksum, Row, ScanOptions, SourceConnector } from '../../core/validation/connector';

type PgConfig = Extract<ConnectorConfig, { type: 'postgres' }>;

interface Column {
  name: string;
  /** format_type(), e.g. `integer`, `text`, `real[]`. */
  type: string;
  /** pg_type.typcategory: N numeric, S string... */
  category: string;
}

interface TableInfo {
  columns: Column[];
  key: Column;
  keyIsNumber: boolean;
  /** `COLLATE "C"` for text keys, so the order is code point order on every server. */
  collate: string;
}

const q = (id: string) => `"${id.replace(/"/g, '""')}"`;

/** OIDs of numeric types read as JS numbers (when numericAsNumber): int8, numeric, int8[], numeric[]. */
const INT8 = 20;
const NUMERIC = 1700;
const INT8_ARRAY = 1016;
const NUMERIC_ARRAY = 1231;
const FLOAT8_ARRAY = 1022;

/**
 * A PostgreSQL table (or the rows of it a `where` selects) through `pg`. Keyset pagination in key order
 * (text keys compared with `COLLATE "C"`), and pushdown of checksums (md5 of each row's text, summed),
 * split points and the seeded sample, so bisecting two PostgreSQL tables moves only checksums until the
 * ranges are small.
 */
export class PgConnector implements SourceConnector {
  readonly label: string;
  readonly ordered = true;
  readonly maxGetBatch = 5000;
  private readonly pool: Pool;
  private info?: Promise<TableInfo>;
  private readonly from: string;
  private readonly filter: string;

  constructor(private readonly cfg: Omit<PgConfig, 'type'>) {
    this.label = `postgres:${cfg.schema}.${cfg.table}`;
    this.from = `${q(cfg.schema)}.${q(cfg.table)}`;
    this.filter = cfg.where ? `(${cfg.where})` : 'TRUE';
    const numeric = cfg.numericAsNumber;
    const parseInt8 = (v: string) => {
      const n = Number(v);
      return Number.isSafeInteger(n) ? n : v;
    };
    this.pool = new Pool({
      connectionString: cfg.url,
      max: 4,
      types: {
        getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
          if (numeric && format !== 'binary') {
            if (oid === INT8) return parseInt8;
            if (oid === NUMERIC) return (v: string) => Number(v);
            if (oid === INT8_ARRAY || oid === NUMERIC_ARRAY) {
              const arr = pgTypes.getTypeParser(FLOAT8_ARRAY as Parameters<typeof pgTypes.getTypeParser>[0]) as (v: string) => number[];
              return (v: string) => arr(v);
            }
          }
          return pgTypes.getTypeParser(oid, format);
        }) as typeof pgTypes.getTypeParser,
      },
    });
    // An idle pooled client whose server went away emits 'error' on the pool (unhandled, it would crash the
    // process). The next query reconnects or fails with its own error; keep this one for the record.
    this.pool.on('error', (e) => (this.idleError = e));
  }

  /** The last error of an idle pooled connection (server restart, network), if any. */
  idleError?: Error;

  async count(): Promise<number> {
    const r = await this.pool.query(`SELECT count(*)::bigint AS n FROM ${this.from} WHERE ${this.filter}`);
    return Number(r.rows[0].n);
  }

  async *scan(opts: ScanOptions): AsyncGenerator<Row[]> {
    const t = await this.table();
    const k = q(t.key.name);
    const cols = opts.keysOnly ? '' : this.selectedColumns(t).map((c) => `, ${q(c.name)}`).join('');
    let after = opts.after;
    for (;;) {
      opts.signal?.throwIfAborted();
      const { where, params } = this.rangeWhere(t, { after, through: opts.through });
      params.push(opts.batchSize);
      const r = await this.pool.query({
        text: `SELECT ${k} AS __key${cols} FROM ${this.from} WHERE ${where} ORDER BY ${k}${t.collate} LIMIT $${params.length}`,
        values: params,
      });
      if (!r.rows.length) return;
      const rows = r.rows.map((x: Record<string, unknown>) => this.toRow(t, x));
      yield rows;
      if (rows.length < opts.batchSize) return;
      after = rows[rows.length - 1]!.key;
    }
  }

  async get(keys: Key[]): Promise<Row[]> {
    if (!keys.length) return [];
    const t = await this.table();
    const cols = this.selectedColumns(t).map((c) => `, ${q(c.name)}`).join('');
    const r = await this.pool.query({
      text: `SELECT ${q(t.key.name)} AS __key${cols} FROM ${this.from} WHERE ${this.filter} AND ${q(t.key.name)} = ANY($1::${t.key.type}[])`,
      values: [keys.map((x) => (t.keyIsNumber ? x : String(x)))],
    });
    return r.rows.map((x: Record<string, unknown>) => this.toRow(t, x));
  }

  async keyRange(): Promise<{ min: Key; max: Key } | null> {
    const t = await this.table();
    const k = `${q(t.key.name)}${t.collate}`;
    const r = await this.pool.query(`SELECT min(${k}) AS lo, max(${k}) AS hi FROM ${this.from} WHERE ${this.filter}`);
    const { lo, hi } = r.rows[0];
    return lo === null ? null : { min: this.key(t, lo), max: this.key(t, hi) };
  }

  /** md5 of each row's text (key + fields), two 60-bit halves summed: order-independent, exact. */
  async checksum(range: KeyRange, sel: FieldSelection): Promise<RangeChecksum | null> {
    const t = await this.table();
    const names = sel.fields ?? t.columns.filter((c) => c.name !== t.key.name && !sel.ignore.includes(c.name)).map((c) => c.name).sort();
    const cols: Column[] = [];
    for (const n of names) {
      const c = t.columns.find((x) => x.name === n);
      if (!c) return null; // a field this table does not have: the engine compares from scans instead
      cols.push(c);
    }
    const rowExpr = `ROW(${[t.key, ...cols].map((c) => q(c.name)).join(', ')})::text`;
    const { where, params } = this.rangeWhere(t, range);
    const r = await this.pool.query({
      text:
        `SELECT count(*)::bigint AS n, ` +
        `coalesce(sum(('x' || substr(h, 1, 15))::bit(60)::bigint), 0)::text AS a, ` +
        `coalesce(sum(('x' || substr(h, 16, 15))::bit(60)::bigint), 0)::text AS b ` +
        `FROM (SELECT md5(${rowExpr}) AS h FROM ${this.from} WHERE ${where}) s`,
      values: params,
    });
    const n = Number(r.rows[0].n);
    return {
      count: n,
      digest: n ? `${r.rows[0].a}:${r.rows[0].b}` : 'empty',
      kind: `postgres-md5-v1:${[t.key, ...cols].map((c) => `${c.name}:${c.type}`).join(',')}`,
    };
  }

  async splitPoints(range: KeyRange, n: number): Promise<Key[]> {
    const t = await this.table();
    const k = q(t.key.name);
    const { where, params } = this.rangeWhere(t, range);
    params.push(n);
    const r = await this.pool.query({
      text:
        `WITH r AS (SELECT ${k} AS k, row_number() OVER (ORDER BY ${k}${t.collate}) AS rn FROM ${this.from} WHERE ${where}), ` +
        `c AS (SELECT count(*) AS total FROM r) ` +
        `SELECT k FROM r, c WHERE rn % greatest(1, ceil(total::numeric / $${params.length})::bigint) = 0 AND rn < total ORDER BY rn`,
      values: params,
    });
    return r.rows.map((x: { k: unknown }) => this.key(t, x.k));
  }

  /** The n keys with the smallest md5(seed:key): the same sample the engine computes from a scan. */
  async sampleKeys(n: number, seed: string): Promise<Key[]> {
    const t = await this.table();
    const k = q(t.key.name);
    const r = await this.pool.query({
      text: `SELECT ${k} AS k FROM ${this.from} WHERE ${this.filter} ORDER BY md5($1 || ${k}::text) COLLATE "C" LIMIT $2`,
      values: [`${seed}:`, n],
    });
    return r.rows.map((x: { k: unknown }) => this.key(t, x.k));
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  private table(): Promise<TableInfo> {
    this.info ??= this.loadTable().catch((e) => {
      this.info = undefined;
      throw e;
    });
    return this.info;
  }

  private async loadTable(): Promise<TableInfo> {
    const r = await this.pool.query({
      text:
        'SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, t.typcategory AS category ' +
        'FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid ' +
        'WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum',
      values: [this.from],
    });
    if (!r.rows.length) throw new Error(`${this.label}: no such table (or no columns visible to this user)`);
    const columns = r.rows as Column[];
    const key = columns.find((c) => c.name === this.cfg.key);
    if (!key) throw new Error(`${this.label}: no key column "${this.cfg.key}" (columns: ${columns.map((c) => c.name).join(', ')})`);
    for (const c of this.cfg.columns ?? []) {
      if (!columns.some((x) => x.name === c)) throw new Error(`${this.label}: no column "${c}"`);
    }
    const keyIsNumber = this.cfg.keyType ? this.cfg.keyType === 'number' : key.category === 'N';
    return { columns, key, keyIsNumber, collate: key.category === 'S' ? ' COLLATE "C"' : '' };
  }

  private selectedColumns(t: TableInfo): Column[] {
    const wanted = this.cfg.columns;
    return t.columns.filter((c) => c.name !== t.key.name && (!wanted || wanted.includes(c.name)));
  }

  private rangeWhere(t: TableInfo, r: KeyRange): { where: string; params: unknown[] } {
    const k = q(t.key.name);
    const parts = [this.filter];
    const params: unknown[] = [];
    if (r.after !== undefined) {
      params.push(r.after);
      parts.push(`${k}${t.collate} > $${params.length}`);
    }
    if (r.through !== undefined) {
      params.push(r.through);
      parts.push(`${k}${t.collate} <= $${params.length}`);
    }
    return { where: parts.join(' AND '), params };
  }

  private key(t: TableInfo, v: unknown): Key {
    if (t.keyIsNumber) {
      const n = typeof v === 'number' ? v : Number(v);
      if (!Number.isFinite(n)) throw new Error(`${this.label}: key ${JSON.stringify(v)} is not a number`);
      return n;
    }
    return v instanceof Date ? v.toISOString() : String(v);
  }

  private toRow(t: TableInfo, x: Record<string, unknown>): Row {
    const { __key, ...data } = x;
    return { key: this.key(t, __key), data };
  }
}
