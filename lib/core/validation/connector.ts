import type { SchemaReader } from './schema';

/**
 * The SourceConnector port: how the validation engine reads one side of a migration (a table, a bucket of
 * files, a key space, an API). One small interface; everything else (sorting, checksums, sampling) the
 * engine derives when a connector cannot push it down.
 */

/** One column of a key. Numbers order numerically; strings by code point (= UTF-8 byte order = PostgreSQL `COLLATE "C"`). */
export type KeyPart = string | number;
/**
 * A record key: one value, or for a composite key (several columns, a DynamoDB partition + sort key) the
 * tuple of its parts, ordered column by column. A one-column key is always the plain value.
 */
export type Key = KeyPart | KeyPart[];

/** One record: its key and its fields (the key field may be repeated in `data`; comparisons ignore it). */
export interface Row {
  key: Key;
  data: Record<string, unknown>;
}

/**
 * A key range, open below and closed above: keys `k` with `after < k <= through`. Either bound may be
 * missing (unbounded). Half-open ranges let a scan resume "after the last key done" and let split points
 * partition a range without overlap.
 */
export interface KeyRange {
  after?: Key;
  through?: Key;
}

/** The fields of a record that take part in comparisons. */
export interface FieldSelection {
  /** Only these fields (in this order). Unset: every field of the record except `ignore`. */
  fields?: string[];
  ignore: string[];
}

export interface ScanOptions extends KeyRange {
  /** Rows per yielded batch (a hint; connectors may yield smaller batches). */
  batchSize: number;
  /** Only keys are needed (connectors may leave `data` empty). */
  keysOnly?: boolean;
  signal?: AbortSignal;
}

/** An order-independent fingerprint of the rows of a range. Equal kinds on both sides are comparable. */
export interface RangeChecksum {
  count: number;
  /** Opaque digest; compare with `===` only when `kind` is equal on both sides. */
  digest: string;
  /** Algorithm and projection, e.g. `engine-md5-v1` or `postgres-md5-v1:id:int4,name:text`. */
  kind: string;
}

export interface SourceConnector extends Partial<SchemaReader> {
  /** Label used in evidence, e.g. `postgres:public.items`. */
  readonly label: string;
  /**
   * True when `scan` yields rows in ascending key order (see compareKeys). The engine sorts unordered
   * connectors itself (external merge sort, bounded memory) when a check needs order.
   */
  readonly ordered: boolean;
  /** Largest useful `get` batch; the engine splits key lists to fit. */
  readonly maxGetBatch?: number;
  /** Exact number of records. */
  count(signal?: AbortSignal): Promise<number>;
  /** Stream the rows of a range, in batches. */
  scan(opts: ScanOptions): AsyncIterable<Row[]>;
  /** Fetch rows by key; keys that do not exist are simply absent from the answer. */
  get(keys: Key[], signal?: AbortSignal): Promise<Row[]>;
  /** Smallest and largest key, or null when empty. */
  keyRange(signal?: AbortSignal): Promise<{ min: Key; max: Key } | null>;
  /**
   * Optional pushdown: checksum of the given fields over a range, computed where the data lives. Return
   * null when these fields cannot be checksummed there (the engine then computes it from a scan).
   */
  checksum?(range: KeyRange, fields: FieldSelection, signal?: AbortSignal): Promise<RangeChecksum | null>;
  /** Optional pushdown: `n` keys of the range that split it into about equal parts, ascending. */
  splitPoints?(range: KeyRange, n: number, signal?: AbortSignal): Promise<Key[]>;
  /**
   * Optional pushdown: the seeded sample, i.e. the `n` keys with the smallest `sampleRank(seed, key)`
   * (md5 of `${seed}:${key}` as lower-case hex). Must give exactly what the engine's scan fallback gives.
   */
  sampleKeys?(n: number, seed: string, signal?: AbortSignal): Promise<Key[]>;
  close(): Promise<void>;
}

/**
 * Total order on keys: numbers before strings; numbers numerically; strings by Unicode code point; tuples
 * part by part (a shorter tuple that is a prefix first), after every single value.
 */
export function compareKeys(a: Key, b: Key): number {
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a)) return -1;
    if (!Array.isArray(b)) return 1;
    const n = Math.min(a.length, b.length);
    for (let i = 0; i < n; i++) {
      const c = compareKeys(a[i]!, b[i]!);
      if (c !== 0) return c;
    }
    return a.length - b.length;
  }
  if (typeof a === 'number') {
    if (typeof b === 'number') return a < b ? -1 : a > b ? 1 : 0;
    return -1;
  }
  if (typeof b === 'number') return 1;
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointOrder(x) - codePointOrder(y);
  }
  return a.length - b.length;
}

/** UTF-16 code units ordered as their code points would be: surrogates (astral planes) sort above U+FFFF. */
const codePointOrder = (c: number): number => (c < 0xd800 ? c : c < 0xe000 ? c + 0x2000 : c - 0x800);

export function inRange(k: Key, r: KeyRange): boolean {
  return (r.after === undefined || compareKeys(k, r.after) > 0) && (r.through === undefined || compareKeys(k, r.through) <= 0);
}

export const describeRange = (r: KeyRange): string =>
  `(${r.after === undefined ? '-∞' : JSON.stringify(r.after)}, ${r.through === undefined ? '+∞' : JSON.stringify(r.through)}]`;

/** The columns of a configured key (`id` or `[item_id, tag]`). */
export const keyColumns = (key: string | string[]): string[] => (Array.isArray(key) ? key : [key]);

/** The type of each key column from a config's `keyType` (one type for all, or one per column). */
export function keyTypes(keyType: KeyType | KeyType[] | undefined, columns: number, dflt: KeyType = 'string'): KeyType[] {
  if (Array.isArray(keyType)) return keyType;
  return Array.from({ length: columns }, () => keyType ?? dflt);
}
export type KeyType = 'string' | 'number';

/** A key from the values of its columns (a plain value for one column, a tuple for several). */
export function keyOfParts(values: unknown[], types: KeyType[], where: string): Key {
  if (values.length === 1) return keyFrom(values[0], types[0]!, where) as KeyPart;
  return values.map((v, i) => keyFrom(v, types[i]!, where) as KeyPart);
}

/** The parts of a key (one for a plain key). */
export const keyParts = (k: Key): KeyPart[] => (Array.isArray(k) ? k : [k]);

/** A string identifying a key exactly (for maps and sets): `1` and `"1"` differ, tuples compare by value. */
export const keyId = (k: Key): string => JSON.stringify(k);

/** A key as text, as SQL would print it: the value, or the parts joined by U+001F (used by the sample rank). */
export const keyText = (k: Key): string => (Array.isArray(k) ? k.map(String).join('\u001f') : String(k));

/** Parse a key from text for a connector whose keys are numbers or strings. */
export function keyFrom(value: unknown, keyType: 'string' | 'number', where: string): Key {
  if (keyType === 'number') {
    const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
    if (!Number.isFinite(n)) throw new Error(`${where}: key ${JSON.stringify(value)} is not a number (keyType is "number")`);
    return n;
  }
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  throw new Error(`${where}: key ${JSON.stringify(value)} is not a string or number`);
}

/** Smallest and largest key from a keys-only scan: `keyRange()` for connectors without a cheaper way. */
export async function keyRangeByScan(c: Pick<SourceConnector, 'scan'>, signal?: AbortSignal): Promise<{ min: Key; max: Key } | null> {
  let min: Key | undefined;
  let max: Key | undefined;
  for await (const b of c.scan({ batchSize: 1000, keysOnly: true, signal })) {
    for (const r of b) {
      if (min === undefined || compareKeys(r.key, min) < 0) min = r.key;
      if (max === undefined || compareKeys(r.key, max) > 0) max = r.key;
    }
  }
  return min === undefined ? null : { min, max: max! };
}

/** Split a list into chunks of at most `size`. */
export function chunks<T>(xs: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
  return out;
}
