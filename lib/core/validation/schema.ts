/**
 * Schema comparison: each connector describes its objects (columns, keys, indexes, constraints, sequences;
 * DynamoDB key schema, indexes, TTL, PITR) as named objects with properties; the check lists every object
 * missing on the target, extra on the target, or with a property that differs, by object.
 */

/** A property value as described (text, number, flag, or null for "none"). */
export type SchemaValue = string | number | boolean | null;

export interface SchemaObject {
  /** `column`, `primary key`, `unique`, `foreign key`, `check`, `index`, `sequence`, `key schema`, `gsi`, `ttl`, `pitr`... */
  kind: string;
  /**
   * What identifies it on both sides, e.g. `public.items.title`, or for an index or constraint its table and
   * definition (`public.items (title) USING btree`): a renamed index is the same index, a changed one is not.
   */
  name: string;
  props: Record<string, SchemaValue>;
}

/** A foreign key, for the row-level orphan check (run with the source's definitions against the target). */
export interface ForeignKeyDef {
  table: string;
  columns: string[];
  refTable: string;
  refColumns: string[];
  /** As written in the source, for messages. */
  definition: string;
}

/** A sequence and the largest value of the column that uses it. */
export interface SequenceState {
  name: string;
  /** The next value the sequence hands out is above this (null: never used and not set). */
  lastValue: number | null;
  /** `public.items.id` */
  column: string;
  /** max(column), null when the table is empty. */
  maxValue: number | null;
}

export interface SchemaSnapshot {
  /** What was described, e.g. `postgres 15.8, schema public, tables items, item_tags`. */
  scope: string;
  objects: SchemaObject[];
  sequences: SequenceState[];
  foreignKeys: ForeignKeyDef[];
}

export interface SchemaOptions {
  /** Tables to describe (default: the connector's own table). */
  tables?: string[];
}

/** The optional connector capabilities the schema check uses. */
export interface SchemaReader {
  describeSchema(opts: SchemaOptions, signal?: AbortSignal): Promise<SchemaSnapshot>;
  /** Rows of `fk.table` whose non-null foreign key has no parent row: a count and a few example keys. */
  foreignKeyOrphans?(fk: ForeignKeyDef, limit: number, signal?: AbortSignal): Promise<{ count: number; examples: unknown[] }>;
}

export interface SchemaDifference {
  /** `column public.items.title` */
  object: string;
  problem: 'missing' | 'extra' | 'changed' | 'sequence behind' | 'orphan rows';
  /** e.g. `nullable: false → true`, or what the object is. */
  detail: string;
}

export const objectId = (o: SchemaObject): string => `${o.kind} ${o.name}`;

const show = (v: SchemaValue | undefined): string => (v === undefined || v === null ? 'none' : typeof v === 'string' ? v : String(v));

/** Every difference between two snapshots, by object (sorted by object for a stable report). */
export function compareSchemas(src: SchemaSnapshot, tgt: SchemaSnapshot): SchemaDifference[] {
  const out: SchemaDifference[] = [];
  const t = new Map(tgt.objects.map((o) => [objectId(o), o]));
  const s = new Map(src.objects.map((o) => [objectId(o), o]));
  for (const [id, o] of s) {
    const other = t.get(id);
    if (!other) {
      out.push({ object: id, problem: 'missing', detail: describeProps(o.props) });
      continue;
    }
    const changes: string[] = [];
    for (const k of [...new Set([...Object.keys(o.props), ...Object.keys(other.props)])].sort()) {
      if (show(o.props[k]) !== show(other.props[k])) changes.push(`${k}: ${show(o.props[k])} → ${show(other.props[k])}`);
    }
    if (changes.length) out.push({ object: id, problem: 'changed', detail: changes.join('; ') });
  }
  for (const [id, o] of t) if (!s.has(id)) out.push({ object: id, problem: 'extra', detail: describeProps(o.props) });
  for (const q of tgt.sequences) {
    if (q.maxValue !== null && (q.lastValue === null || q.lastValue < q.maxValue)) {
      out.push({ object: `sequence ${q.name}`, problem: 'sequence behind', detail: `last value ${q.lastValue ?? 'unset'} < max(${q.column}) ${q.maxValue}: the next insert would reuse an id` });
    }
  }
  return out.sort((a, b) => (a.object < b.object ? -1 : a.object > b.object ? 1 : 0));
}

const describeProps = (p: Record<string, SchemaValue>): string =>
  Object.entries(p)
    .map(([k, v]) => `${k}: ${show(v)}`)
    .join('; ');
