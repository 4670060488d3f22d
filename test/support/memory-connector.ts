import { compareKeys, inRange, keyId, type Key, type Row, type ScanOptions, type SourceConnector } from '../../lib/core/validation/connector';

/**
 * An in-memory SourceConnector for engine tests. `ordered: false` yields rows in a scrambled (but
 * deterministic) order, like a DynamoDB scan. Records calls so tests can see what was read.
 */
export class MemoryConnector implements SourceConnector {
  readonly label: string;
  readonly calls: Array<{ op: string; after?: Key; through?: Key; n?: number }> = [];
  private readonly rows: Row[];
  /** Throw from scan after this many yielded batches (simulates a crash mid-scan). */
  failAfterBatches?: number;
  constructor(
    rows: Row[],
    readonly ordered = true,
    label = 'memory',
  ) {
    this.label = label;
    this.rows = [...rows].sort((a, b) => compareKeys(a.key, b.key));
    if (!ordered) this.rows = scramble(this.rows);
  }
  async count(): Promise<number> {
    this.calls.push({ op: 'count' });
    return this.rows.length;
  }
  async *scan(opts: ScanOptions): AsyncGenerator<Row[]> {
    this.calls.push({ op: 'scan', after: opts.after, through: opts.through });
    let batch: Row[] = [];
    let yielded = 0;
    for (const r of this.rows) {
      if (!inRange(r.key, opts)) continue;
      batch.push(opts.keysOnly ? { key: r.key, data: {} } : { key: r.key, data: structuredClone(r.data) });
      if (batch.length >= opts.batchSize) {
        if (this.failAfterBatches !== undefined && yielded >= this.failAfterBatches) throw new Error('connection lost (simulated)');
        yield batch;
        yielded += 1;
        batch = [];
      }
    }
    if (batch.length) yield batch;
  }
  async get(keys: Key[]): Promise<Row[]> {
    this.calls.push({ op: 'get', n: keys.length });
    const want = new Set(keys.map(keyId));
    return this.rows.filter((r) => want.has(keyId(r.key))).map((r) => ({ key: r.key, data: structuredClone(r.data) }));
  }
  async keyRange() {
    if (!this.rows.length) return null;
    const s = [...this.rows].sort((a, b) => compareKeys(a.key, b.key));
    return { min: s[0]!.key, max: s[s.length - 1]!.key };
  }
  async close(): Promise<void> {}
}

function scramble<T>(xs: T[]): T[] {
  const out = [...xs];
  let s = 12345;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

export const toRows = <T extends { id: Key }>(recs: T[]): Row[] =>
  recs.map(({ id, ...data }) => ({ key: id, data: data as Record<string, unknown> }));
