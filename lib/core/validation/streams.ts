import { compareKeys, describeRange, inRange, type Key, type KeyRange, type Row, type SourceConnector } from './connector';
import { CheckError } from './result';
import type { SortedRows, Spooler } from './ports';

/** A side of a comparison that can be read in key order, range by range. */
export interface RangeReader {
  readonly label: string;
  /** Rows in the range, ascending by key. */
  scan(range: KeyRange, batchSize: number, opts?: { keysOnly?: boolean; signal?: AbortSignal }): AsyncIterable<Row[]>;
  close(): Promise<void>;
}

/**
 * A key-ordered reader over a connector: ordered connectors are read directly (their order is verified
 * while reading), unordered ones are sorted once through the spooler (bounded memory).
 */
export async function orderedReader(c: SourceConnector, spooler: Spooler, batchSize: number, signal?: AbortSignal): Promise<RangeReader> {
  if (c.ordered) {
    return {
      label: c.label,
      scan: (range, size, opts) => verifyOrder(c.scan({ ...range, batchSize: size, keysOnly: opts?.keysOnly, signal: opts?.signal ?? signal }), c.label),
      close: async () => {},
    };
  }
  const sorted: SortedRows = await spooler.sort(c.scan({ batchSize, signal }), { label: c.label, signal });
  return { label: c.label, scan: (range, size) => sorted.scan(range, size), close: () => sorted.close() };
}

/** Pass batches through, failing loudly if keys go backwards or repeat (a connector claimed an order it does not have). */
export async function* verifyOrder(it: AsyncIterable<Row[]>, label: string): AsyncGenerator<Row[]> {
  let prev: Key | undefined;
  for await (const batch of it) {
    for (const r of batch) {
      if (prev !== undefined && compareKeys(r.key, prev) <= 0) {
        if (compareKeys(r.key, prev) === 0) throw duplicateKey(label, r.key);
        throw new CheckError(
          `${label} is not in ascending key order: ${JSON.stringify(r.key)} came after ${JSON.stringify(prev)} (set \`sorted: false\` / \`ordered: false\` on the connector, or sort the data)`,
        );
      }
      prev = r.key;
    }
    yield batch;
  }
}

/** `number`, `string`, or `(number, string)` for a composite key: both sides must agree on it. */
export const keyShape = (k: Key): string => (Array.isArray(k) ? `(${k.map((x) => typeof x).join(', ')})` : typeof k);

/** Rows one by one from a batched stream. */
export async function* rowsOf(it: AsyncIterable<Row[]>): AsyncGenerator<Row> {
  for await (const batch of it) for (const r of batch) yield r;
}

export interface MergedPair {
  key: Key;
  src?: Row;
  tgt?: Row;
}

/** Reads a batched stream row by row, awaiting only when a batch runs out. */
class Cursor {
  private batch: Row[] = [];
  private i = 0;
  done = false;
  constructor(private readonly it: AsyncIterator<Row[]>) {}
  /** The current row (after `fill`), or undefined at the end. */
  get row(): Row | undefined {
    return this.batch[this.i];
  }
  /** True when a row is available without awaiting. */
  get ready(): boolean {
    return this.i < this.batch.length;
  }
  async fill(): Promise<void> {
    while (!this.done && this.i >= this.batch.length) {
      const n = await this.it.next();
      if (n.done) this.done = true;
      else {
        this.batch = n.value;
        this.i = 0;
      }
    }
  }
  advance(): void {
    this.i += 1;
  }
  async close(): Promise<void> {
    await this.it.return?.(undefined);
  }
}

/**
 * Merge-join two key-ordered streams: each key once, with the row of each side that has it, in chunks of
 * pairs (no promise per row). Memory: one batch per side.
 */
export async function* mergeJoin(a: AsyncIterable<Row[]>, b: AsyncIterable<Row[]>): AsyncGenerator<MergedPair[]> {
  const x = new Cursor(a[Symbol.asyncIterator]());
  const y = new Cursor(b[Symbol.asyncIterator]());
  try {
    await x.fill();
    await y.fill();
    const first = [x.row, y.row];
    if (first[0] && first[1] && keyShape(first[0].key) !== keyShape(first[1].key)) {
      throw new CheckError(
        `the source has ${keyShape(first[0].key)} keys and the target ${keyShape(first[1].key)} keys (e.g. ${JSON.stringify(first[0].key)} vs ${JSON.stringify(first[1].key)}): set the same key columns and keyType on both connectors`,
      );
    }
    for (;;) {
      const out: MergedPair[] = [];
      // pair rows while both sides have one in hand (or one side has ended)
      while ((x.ready || x.done) && (y.ready || y.done)) {
        const r = x.row;
        const t = y.row;
        if (!r && !t) break;
        const c = !r ? 1 : !t ? -1 : compareKeys(r.key, t.key);
        if (c < 0) {
          out.push({ key: r!.key, src: r });
          x.advance();
        } else if (c > 0) {
          out.push({ key: t!.key, tgt: t });
          y.advance();
        } else {
          out.push({ key: r!.key, src: r, tgt: t });
          x.advance();
          y.advance();
        }
      }
      if (out.length) yield out;
      if (x.done && y.done) return;
      await x.fill();
      await y.fill();
      if (!x.row && !y.row) return;
    }
  } finally {
    await x.close();
    await y.close();
  }
}

/** Sorts in memory: for tests and small data. The CLI and handlers use the file spooler (bounded memory). */
export class MemorySpooler implements Spooler {
  async sort(rows: AsyncIterable<Row[]>, opts?: { label: string }): Promise<SortedRows> {
    const all: Row[] = [];
    for await (const b of rows) for (const r of b) all.push(r);
    all.sort((p, q) => compareKeys(p.key, q.key));
    assertUnique(all, opts?.label ?? 'rows');
    return {
      count: all.length,
      scan: (range, batchSize) => sliceRange(all, range, batchSize),
      close: async () => {},
    };
  }
}

/** A key seen twice on one side: the configured key is not unique there, so no row can be matched for it. */
export const duplicateKey = (label: string, key: Key): CheckError =>
  new CheckError(`${label}: duplicate key ${JSON.stringify(key)}: the configured key is not unique (name every key column, e.g. key: [item_id, tag])`);

export function assertUnique(sorted: Row[], label: string): void {
  for (let i = 1; i < sorted.length; i++) {
    if (compareKeys(sorted[i]!.key, sorted[i - 1]!.key) === 0) throw duplicateKey(label, sorted[i]!.key);
  }
}

async function* sliceRange(all: Row[], range: KeyRange, batchSize: number): AsyncGenerator<Row[]> {
  let i = range.after === undefined ? 0 : upperBound(all, range.after);
  while (i < all.length) {
    const batch: Row[] = [];
    while (i < all.length && batch.length < batchSize && inRange(all[i]!.key, range)) batch.push(all[i++]!);
    if (batch.length) yield batch;
    if (i >= all.length || !inRange(all[i]!.key, range)) return;
  }
}

/** First index whose key is > k. */
function upperBound(all: Row[], k: Key): number {
  let lo = 0;
  let hi = all.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (compareKeys(all[mid]!.key, k) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Rows of a range, collected (for small ranges only). */
export async function collect(it: AsyncIterable<Row[]>): Promise<Row[]> {
  const out: Row[] = [];
  for await (const b of it) out.push(...b);
  return out;
}

export const rangeLabel = describeRange;
