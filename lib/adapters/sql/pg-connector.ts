import { Pool, types as pgTypes, type PoolConfig } from 'pg';
import type { ConnectorConfig } from '../../core/validation/config';
import type { ForeignKeyDef, SchemaObject, SchemaOptions, SchemaSnapshot, SequenceState } from '../../core/validation/schema';
import { keyColumns, keyParts, keyTypes, ROW_HASH, type FieldSelection, type Key, type KeyRange, type KeyType, type RangeChecksum, type Row, type ScanOptions, type SourceConnector } from '../../core/validation/connector';

type PgConfig = Extract<ConnectorConfig, { type: 'postgres' }>;

export interface PgConnectorOptions {
  /**
   * node-postgres settings over those of the URL, e.g. an in-process PostgreSQL (PGlite:
   * `createPgConfig(db)` from `@electric-sql/pglite/node-postgres`, one connection: `max: 1`).
   */
  pool?: PoolConfig;
}

interface Column {
  name: string;
  /** format_type(), e.g. `integer`, `text`, `real[]`, `vector(768)`. */
  type: string;
  /** pg_type.typcategory: N numeric, S string... */
  category: string;
  /** The type's binary output function (`array_send`, `vector_send`...). */
  send: string;
  notNull: boolean;
}

interface TableInfo {
  columns: Column[];
  /** The key's columns (one, or several for a composite key). */
  keys: Column[];
  keyTypes: KeyType[];
  /** Each key column as an ordering expression: text keys `COLLATE "C"`, so the order is code point order on every server. */
  keyExprs: string[];
  /** The key as a row-comparison operand: `"id"` or `("item_id", "tag" COLLATE "C")`. */
  keyTuple: string;
  /** How rows are hashed in the database (see checksum). */
  hashing: 'hash-record' | 'md5-text';
  /** Columns without an extended hash function: hashed from their binary form (`vector_send(col)`). */
  unhashable: Set<string>;
}

const q = (id: string) => `"${id.replace(/"/g, '""')}"`;
/** `schema.table` quoted part by part. */
const qualified = (name: string) => name.split('.').map(q).join('.');

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

  constructor(
    private readonly cfg: Omit<PgConfig, 'type'>,
    opts: PgConnectorOptions = {},
  ) {
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
      ...opts.pool,
    });
    // An idle pooled client whose server went away emits 'error' on the pool (unhandled, it would crash the
    // process). The next query reconnects or fails with its own error; keep this one for the record.
    this.pool.on('error', (e) => (this.idleError = e));
  }

  /** The last error of an idle pooled connection (server restart, network), if any. */
  idleError?: Error;

  /** The row count; like every operation, only once the key is known to be unique. */
  async count(): Promise<number> {
    await this.table();
    const r = await this.pool.query(`SELECT count(*)::bigint AS n FROM ${this.from} WHERE ${this.filter}`);
    return Number(r.rows[0].n);
  }

  async *scan(opts: ScanOptions): AsyncGenerator<Row[]> {
    const t = await this.table();
    const hashed = opts.hashOf && !opts.keysOnly ? this.hashColumns(t, opts.hashOf) : null;
    if (opts.hashOf && !opts.keysOnly && !hashed) throw new Error(`${this.label}: cannot hash the selected fields (a field is not a column)`);
    const cols = opts.keysOnly ? '' : hashed ? `, ${this.rowHash(t, [...t.keys, ...hashed])}::text AS __h` : this.selectedColumns(t).map((c) => `, ${q(c.name)}`).join('');
    let after = opts.after;
    for (;;) {
      opts.signal?.throwIfAborted();
      const { where, params } = this.rangeWhere(t, { after, through: opts.through });
      params.push(opts.batchSize);
      const r = await this.pool.query({
        text: `SELECT ${this.keySelect(t)}${cols} FROM ${this.from} WHERE ${where} ORDER BY ${t.keyExprs.join(', ')} LIMIT $${params.length}`,
        values: params,
      });
      if (!r.rows.length) return;
      const rows = r.rows.map((x: Record<string, unknown>) => (hashed ? { key: this.keyOf(t, x), data: { [ROW_HASH]: x['__h'] } } : this.toRow(t, x)));
      yield rows;
      if (rows.length < opts.batchSize) return;
      after = rows[rows.length - 1]!.key;
    }
  }

  async get(keys: Key[]): Promise<Row[]> {
    if (!keys.length) return [];
    const t = await this.table();
    const cols = this.selectedColumns(t).map((c) => `, ${q(c.name)}`).join('');
    const values = t.keys.map((_, i) => keys.map((k) => this.keyParam(t, keyParts(k)[i], i)));
    const match =
      t.keys.length === 1
        ? `${q(t.keys[0]!.name)} = ANY($1::${t.keys[0]!.type}[])`
        : `(${t.keys.map((c) => q(c.name)).join(', ')}) IN (SELECT * FROM unnest(${t.keys.map((c, i) => `$${i + 1}::${c.type}[]`).join(', ')}))`;
    const r = await this.pool.query({ text: `SELECT ${this.keySelect(t)}${cols} FROM ${this.from} WHERE ${this.filter} AND ${match}`, values });
    return r.rows.map((x: Record<string, unknown>) => this.toRow(t, x));
  }

  async keyRange(): Promise<{ min: Key; max: Key } | null> {
    const t = await this.table();
    const edge = async (dir: 'ASC' | 'DESC') => {
      const r = await this.pool.query(`SELECT ${this.keySelect(t)} FROM ${this.from} WHERE ${this.filter} ORDER BY ${t.keyExprs.map((e) => `${e} ${dir}`).join(', ')} LIMIT 1`);
      return r.rows.length ? this.keyOf(t, r.rows[0]) : null;
    };
    const min = await edge('ASC');
    return min === null ? null : { min, max: (await edge('DESC'))! };
  }

  /**
   * The checksum of a range, computed in the database from values, not their text: each row is hashed with
   * `hash_record_extended` (the 64-bit hash functions of hash partitioning, stable across servers and
   * versions; floats, timestamps and numerics hashed by value, never formatted), columns without a hash
   * function (pgvector's `vector`, `json`, geometric types) through their binary form (`vector_send(col)`);
   * the digest is the count, the sum and the XOR of the row hashes (order-independent). Before PostgreSQL 14
   * (no `hash_record_extended`): md5 of each row's text, as before.
   */
  async checksum(range: KeyRange, sel: FieldSelection): Promise<RangeChecksum | null> {
    const t = await this.table();
    const cols = this.hashColumns(t, sel);
    if (!cols) return null; // a field this table does not have: the engine compares from scans instead
    const all = [...t.keys, ...cols];
    const { where, params } = this.rangeWhere(t, range);
    const signature = all.map((c) => `${c.name}:${c.type}`).join(',');
    if (t.hashing === 'md5-text') {
      const rowExpr = `ROW(${all.map((c) => q(c.name)).join(', ')})::text`;
      const r = await this.pool.query({
        text:
          `SELECT count(*)::bigint AS n, ` +
          `coalesce(sum(('x' || substr(h, 1, 15))::bit(60)::bigint), 0)::text AS a, ` +
          `coalesce(sum(('x' || substr(h, 16, 15))::bit(60)::bigint), 0)::text AS b ` +
          `FROM (SELECT md5(${rowExpr}) AS h FROM ${this.from} WHERE ${where}) s`,
        values: params,
      });
      const n = Number(r.rows[0].n);
      return { count: n, digest: n ? `${r.rows[0].a}:${r.rows[0].b}` : 'empty', kind: `postgres-md5-v1:${signature}` };
    }
    const r = await this.pool.query({
      text: `SELECT count(*)::bigint AS n, coalesce(sum(h::numeric), 0)::text AS a, coalesce(bit_xor(h), 0)::text AS b FROM (SELECT ${this.rowHash(t, all)} AS h FROM ${this.from} WHERE ${where}) s`,
      values: params,
    });
    const n = Number(r.rows[0].n);
    return { count: n, digest: n ? `${r.rows[0].a}:${r.rows[0].b}` : 'empty', kind: `postgres-hash-v2:${signature}` };
  }

  /** The per-row hash `scan({ hashOf })` yields (the checksum's row hash); null before PostgreSQL 14. */
  async rowHashKind(sel: FieldSelection): Promise<string | null> {
    const t = await this.table();
    const cols = this.hashColumns(t, sel);
    if (!cols || t.hashing !== 'hash-record') return null;
    return `postgres-hash-v2:${[...t.keys, ...cols].map((c) => `${c.name}:${c.type}`).join(',')}`;
  }

  /** The non-key columns a field selection hashes, sorted by name; null when a field is not a column. */
  private hashColumns(t: TableInfo, sel: FieldSelection): Column[] | null {
    const names = sel.fields ?? t.columns.filter((c) => !t.keys.includes(c) && !sel.ignore.includes(c.name)).map((c) => c.name).sort();
    const cols: Column[] = [];
    for (const n of names) {
      const c = t.columns.find((x) => x.name === n);
      if (!c) return null;
      if (!t.keys.includes(c)) cols.push(c);
    }
    return cols;
  }

  /** The 64-bit hash of a row's columns, computed from values (see checksum). */
  private rowHash(t: TableInfo, cols: Column[]): string {
    return `hash_record_extended(ROW(${cols.map((c) => (t.unhashable.has(c.name) ? `${c.send}(${q(c.name)})` : q(c.name))).join(', ')}), 0)`;
  }

  async splitPoints(range: KeyRange, n: number): Promise<Key[]> {
    const t = await this.table();
    const { where, params } = this.rangeWhere(t, range);
    params.push(n);
    const r = await this.pool.query({
      text:
        `WITH r AS (SELECT ${this.keySelect(t)}, row_number() OVER (ORDER BY ${t.keyExprs.join(', ')}) AS __rn FROM ${this.from} WHERE ${where}), ` +
        `c AS (SELECT count(*) AS __total FROM r) ` +
        `SELECT r.* FROM r, c WHERE __rn % greatest(1, ceil(__total::numeric / $${params.length})::bigint) = 0 AND __rn < __total ORDER BY __rn`,
      values: params,
    });
    return r.rows.map((x: Record<string, unknown>) => this.keyOf(t, x));
  }

  /**
   * The n keys with the smallest md5(seed:key): the same sample the engine computes from a scan (a composite
   * key's text is its parts joined by U+001F).
   */
  async sampleKeys(n: number, seed: string): Promise<Key[]> {
    const t = await this.table();
    const text = t.keys.length === 1 ? `${q(t.keys[0]!.name)}::text` : `concat_ws(chr(31), ${t.keys.map((c) => `${q(c.name)}::text`).join(', ')})`;
    const r = await this.pool.query({
      text: `SELECT ${this.keySelect(t)} FROM ${this.from} WHERE ${this.filter} ORDER BY md5($1 || ${text}) COLLATE "C" LIMIT $2`,
      values: [`${seed}:`, n],
    });
    return r.rows.map((x: Record<string, unknown>) => this.keyOf(t, x));
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  /**
   * The schema of the tables (default: this connector's table), from the catalogs: columns (type as
   * `format_type` prints it, `vector(768)` included; nullability; default; identity; generated), constraints
   * (primary key, unique, foreign key, check, exclusion) and indexes identified by table and definition (a
   * renamed index is the same index), owned sequences with their last value and the largest id they number.
   */
  async describeSchema(opts: SchemaOptions): Promise<SchemaSnapshot> {
    const names = (opts.tables ?? [this.cfg.table]).map((t) => (t.includes('.') ? t : `${this.cfg.schema}.${t}`));
    const rel = `SELECT c.oid, n.nspname || '.' || c.relname AS tbl FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid IN (SELECT to_regclass(quote_ident(split_part(x, '.', 1)) || '.' || quote_ident(split_part(x, '.', 2))) FROM unnest($1::text[]) x)`;
    const v = [names];
    const tables = (await this.pool.query({ text: rel, values: v })).rows as Array<{ tbl: string }>;
    const objects: SchemaObject[] = tables.map((t) => ({ kind: 'table', name: t.tbl, props: {} }));
    const cols = await this.pool.query({
      text:
        `WITH t AS (${rel}) SELECT t.tbl, a.attname, format_type(a.atttypid, a.atttypmod) AS type, NOT a.attnotnull AS nullable, ` +
        `pg_get_expr(d.adbin, d.adrelid) AS dflt, nullif(a.attidentity, '') AS identity, nullif(a.attgenerated, '') AS generated ` +
        `FROM t JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum > 0 AND NOT a.attisdropped LEFT JOIN pg_attrdef d ON d.adrelid = t.oid AND d.adnum = a.attnum`,
      values: v,
    });
    for (const c of cols.rows) {
      objects.push({ kind: 'column', name: `${c.tbl}.${c.attname}`, props: { type: c.type, nullable: c.nullable, default: c.dflt, identity: c.identity, generated: c.generated } });
    }
    const kinds: Record<string, string> = { p: 'primary key', u: 'unique', f: 'foreign key', c: 'check', x: 'exclusion' };
    const relName = (oid: string) => `(SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = ${oid})`;
    const attNames = (rel: string, keys: string) => `ARRAY(SELECT fa.attname::text FROM unnest(${keys}) WITH ORDINALITY u(n, i) JOIN pg_attribute fa ON fa.attrelid = ${rel} AND fa.attnum = u.n ORDER BY u.i)`;
    const cons = await this.pool.query({
      text:
        `WITH t AS (${rel}) SELECT t.tbl, k.contype, pg_get_constraintdef(k.oid) AS def, k.convalidated AS validated, ` +
        `${relName('k.confrelid')} AS ref, ${attNames('k.conrelid', 'k.conkey')} AS cols, ${attNames('k.confrelid', 'k.confkey')} AS refcols ` +
        `FROM t JOIN pg_constraint k ON k.conrelid = t.oid WHERE k.contype IN ('p', 'u', 'f', 'c', 'x')`,
      values: v,
    });
    const foreignKeys: ForeignKeyDef[] = [];
    for (const k of cons.rows) {
      objects.push({ kind: kinds[k.contype as string]!, name: `${k.tbl} ${k.def}`, props: { validated: k.validated } });
      if (k.contype === 'f') foreignKeys.push({ table: k.tbl, columns: k.cols, refTable: k.ref, refColumns: k.refcols, definition: k.def });
    }
    const idx = await this.pool.query({
      text:
        `WITH t AS (${rel}) SELECT t.tbl, pg_get_indexdef(i.indexrelid) AS def, i.indisvalid AS valid FROM t JOIN pg_index i ON i.indrelid = t.oid ` +
        `WHERE NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid AND k.conrelid = t.oid)`,
      values: v,
    });
    for (const i of idx.rows) {
      const def = (i.def as string).replace(/^CREATE (UNIQUE )?INDEX \S+ ON (ONLY )?\S+ /, (_m, u: string | undefined) => (u ? 'UNIQUE ' : ''));
      objects.push({ kind: 'index', name: `${i.tbl} ${def}`, props: { valid: i.valid } });
    }
    const seqs = await this.pool.query({
      text:
        `WITH t AS (${rel}) SELECT ${relName('s.oid')} AS seq, t.tbl, a.attname AS col, format_type(q.seqtypid, NULL) AS type, q.seqincrement::text AS increment, ` +
        `(SELECT ps.last_value::text FROM pg_sequences ps WHERE ps.schemaname || '.' || ps.sequencename = ${relName('s.oid')}) AS last ` +
        `FROM t JOIN pg_depend d ON d.refobjid = t.oid AND d.refclassid = 'pg_class'::regclass AND d.classid = 'pg_class'::regclass AND d.deptype IN ('a', 'i') ` +
        `JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S' JOIN pg_sequence q ON q.seqrelid = s.oid ` +
        `JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid`,
      values: v,
    });
    const sequences: SequenceState[] = [];
    for (const sq of seqs.rows) {
      objects.push({ kind: 'sequence', name: sq.seq, props: { type: sq.type, increment: sq.increment, column: `${sq.tbl}.${sq.col}` } });
      const max = await this.pool.query(`SELECT max(${q(sq.col)})::text AS m FROM ${qualified(sq.tbl)}`);
      sequences.push({ name: sq.seq, lastValue: sq.last === null ? null : Number(sq.last), column: `${sq.tbl}.${sq.col}`, maxValue: max.rows[0].m === null ? null : Number(max.rows[0].m) });
    }
    const version = (await this.pool.query('SHOW server_version')).rows[0].server_version as string;
    return { scope: `PostgreSQL ${version.split(' ')[0]}, tables ${names.join(', ')}`, objects, sequences, foreignKeys };
  }

  /** Rows whose foreign key (all columns set) matches no row of the referenced table. */
  async foreignKeyOrphans(fk: ForeignKeyDef, limit: number): Promise<{ count: number; examples: unknown[] }> {
    const c = fk.columns.map((x) => `c.${q(x)}`);
    const cond = `(${c.join(', ')}) IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ${qualified(fk.refTable)} p WHERE ${fk.refColumns.map((x, i) => `p.${q(x)} = ${c[i]}`).join(' AND ')})`;
    const from = `${qualified(fk.table)} c`;
    const n = await this.pool.query(`SELECT count(*)::bigint AS n FROM ${from} WHERE ${cond}`);
    const count = Number(n.rows[0].n);
    if (!count) return { count, examples: [] };
    const ex = await this.pool.query({ text: `SELECT ${c.join(', ')} FROM ${from} WHERE ${cond} LIMIT $1`, values: [limit], rowMode: 'array' });
    return { count, examples: ex.rows.map((r: unknown[]) => (r.length === 1 ? r[0] : r)) };
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
        'SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, t.typcategory AS category, t.typsend::text AS send, a.attnotnull AS "notNull" ' +
        'FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid ' +
        'WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum',
      values: [this.from],
    });
    if (!r.rows.length) throw new Error(`${this.label}: no such table (or no columns visible to this user)`);
    const columns = r.rows as Column[];
    const names = keyColumns(this.cfg.key);
    const keys = names.map((n) => {
      const c = columns.find((x) => x.name === n);
      if (!c) throw new Error(`${this.label}: no key column "${n}" (columns: ${columns.map((x) => x.name).join(', ')})`);
      return c;
    });
    for (const c of this.cfg.columns ?? []) {
      if (!columns.some((x) => x.name === c)) throw new Error(`${this.label}: no column "${c}"`);
    }
    const configured = this.cfg.keyType === undefined ? undefined : keyTypes(this.cfg.keyType, keys.length);
    const types = keys.map((c, i) => configured?.[i] ?? (c.category === 'N' ? 'number' : 'string'));
    const keyExprs = keys.map((c) => `${q(c.name)}${c.category === 'S' ? ' COLLATE "C"' : ''}`);
    const version = Number((await this.pool.query('SHOW server_version_num')).rows[0].server_version_num);
    const hashing = version >= 140000 ? 'hash-record' : 'md5-text';
    const unhashable = new Set<string>();
    if (hashing === 'hash-record') {
      // a NULL of each type finds the types without an extended hash function (no data is read)
      for (const c of columns) {
        await this.pool.query(`SELECT hash_record_extended(ROW(NULL::${c.type}), 0)`).catch(() => unhashable.add(c.name));
      }
    }
    const info: TableInfo = { columns, keys, keyTypes: types, keyExprs, keyTuple: keys.length === 1 ? keyExprs[0]! : `(${keyExprs.join(', ')})`, hashing, unhashable };
    await this.assertUniqueKey(info);
    return info;
  }

  /**
   * The configured key must identify one row: proven by a primary key or unique index on (a subset of) the
   * key's NOT NULL columns, else checked with one GROUP BY over the rows. A duplicate or NULL key is an error
   * naming the key, in every check (comparing either of two rows would be a guess).
   */
  private async assertUniqueKey(t: TableInfo): Promise<void> {
    const r = await this.pool.query({
      text:
        'SELECT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = to_regclass($1) AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL ' +
        'AND (SELECT bool_and(a.attname = ANY($2::text[])) FROM pg_attribute a WHERE a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey))) AS unique',
      values: [this.from, t.keys.map((c) => c.name)],
    });
    if (r.rows[0].unique && t.keys.every((c) => c.notNull)) return; // a where clause only removes rows: still unique
    const cols = t.keys.map((c) => q(c.name)).join(', ');
    const dup = await this.pool.query(
      `SELECT ${this.keySelect(t)}, count(*)::bigint AS __n, bool_or(${t.keys.map((c) => `${q(c.name)} IS NULL`).join(' OR ')}) AS __null ` +
        `FROM ${this.from} WHERE ${this.filter} GROUP BY ${cols} HAVING count(*) > 1 OR bool_or(${t.keys.map((c) => `${q(c.name)} IS NULL`).join(' OR ')}) LIMIT 1`,
    );
    if (!dup.rows.length) return;
    const row = dup.rows[0] as Record<string, unknown>;
    const what = `(${t.keys.map((c) => c.name).join(', ')})`;
    if (row['__null']) throw new Error(`${this.label}: the key ${what} is NULL in ${Number(row['__n'])} row(s): every key column must have a value`);
    throw new Error(`${this.label}: duplicate key ${JSON.stringify(this.keyOf(t, row))} (${Number(row['__n'])} rows): the configured key ${what} is not unique (name every key column, e.g. key: [item_id, tag])`);
  }

  private selectedColumns(t: TableInfo): Column[] {
    const wanted = this.cfg.columns;
    return t.columns.filter((c) => !t.keys.includes(c) && (!wanted || wanted.includes(c.name)));
  }

  /** The key columns selected as `__k0, __k1...`. */
  private keySelect(t: TableInfo): string {
    return t.keys.map((c, i) => `${q(c.name)} AS __k${i}`).join(', ');
  }

  /** Keys after / through a bound: a row comparison for composite keys (lexicographic, like compareKeys). */
  private rangeWhere(t: TableInfo, r: KeyRange): { where: string; params: unknown[] } {
    const parts = [this.filter];
    const params: unknown[] = [];
    const bound = (k: Key, op: string) => {
      const ps = keyParts(k);
      if (ps.length !== t.keys.length) throw new Error(`${this.label}: key ${JSON.stringify(k)} has ${ps.length} parts, the key ${t.keys.length} columns`);
      const refs = ps.map((p, i) => {
        params.push(this.keyParam(t, p, i));
        return `$${params.length}::${t.keys[i]!.type}`;
      });
      parts.push(`${t.keyTuple} ${op} ${refs.length === 1 ? refs[0] : `(${refs.join(', ')})`}`);
    };
    if (r.after !== undefined) bound(r.after, '>');
    if (r.through !== undefined) bound(r.through, '<=');
    return { where: parts.join(' AND '), params };
  }

  private keyParam(t: TableInfo, v: unknown, i: number): unknown {
    return t.keyTypes[i] === 'number' ? v : String(v);
  }

  private keyPart(t: TableInfo, v: unknown, i: number): string | number {
    if (t.keyTypes[i] === 'number') {
      const n = typeof v === 'number' ? v : Number(v);
      if (!Number.isFinite(n)) throw new Error(`${this.label}: key ${JSON.stringify(v)} is not a number`);
      return n;
    }
    return v instanceof Date ? v.toISOString() : String(v);
  }

  /** The key of a selected row (`__k0...`): a plain value, or a tuple for a composite key. */
  private keyOf(t: TableInfo, x: Record<string, unknown>): Key {
    const parts = t.keys.map((_, i) => this.keyPart(t, x[`__k${i}`], i));
    return parts.length === 1 ? parts[0]! : parts;
  }

  private toRow(t: TableInfo, x: Record<string, unknown>): Row {
    const key = this.keyOf(t, x);
    const data: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(x)) if (!k.startsWith('__k')) data[k] = v;
    return { key, data };
  }
}
