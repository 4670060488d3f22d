import { keyId, type FieldSelection, type Key, type SourceConnector } from '../connector';
import { verifyOrder, type RangeReader } from '../streams';
import type { DiffTally } from '../tally';
import { getAll } from './sample';

/**
 * Row hashes computed where the data lives (PostgreSQL ↔ PostgreSQL): the kind both ordered sides share for
 * these fields, or null when they cannot hash them alike.
 */
export async function sharedRowHash(sc: SourceConnector, tc: SourceConnector, sel: FieldSelection, signal?: AbortSignal): Promise<string | null> {
  if (!sc.ordered || !tc.ordered) return null;
  const [hs, ht] = await Promise.all([sc.rowHashKind?.(sel, signal) ?? null, tc.rowHashKind?.(sel, signal) ?? null]);
  return hs !== null && hs === ht ? hs : null;
}

/** Keys and row hashes in key order, straight from an ordered connector. */
export const hashReader = (c: SourceConnector, sel: FieldSelection): RangeReader => ({
  label: c.label,
  scan: (range, size, opts) => verifyOrder(c.scan({ ...range, batchSize: size, hashOf: sel, signal: opts?.signal }), c.label),
  close: async () => {},
});

/** Keys whose row hashes differ: read in full from both sides, in batches, and compared field by field. */
export class DifferingRows {
  pending: Key[] = [];
  rowsFetched = 0;
  constructor(
    private readonly sc: SourceConnector,
    private readonly tc: SourceConnector,
    private readonly tally: DiffTally,
    private readonly signal?: AbortSignal,
  ) {}
  async flush(): Promise<void> {
    if (!this.pending.length) return;
    const keys = this.pending;
    this.pending = [];
    const [a, b] = await Promise.all([getAll(this.sc, keys, this.signal), getAll(this.tc, keys, this.signal)]);
    this.rowsFetched += a.size + b.size;
    for (const k of keys) this.tally.pair(k, a.get(keyId(k)), b.get(keyId(k)));
  }
}
