import type { BackendRole } from './settings';
import type { DeleteItem, VectorRecord, WriteBatch } from './writes';

/**
 * Writes a follower store missed (it was down, slow, failing, or its breaker was open), kept until they are
 * replayed. One entry per store and id: a newer version replaces an older one (the store would ignore the
 * older one anyway), so the queue is bounded by the number of distinct ids behind, and its size is the
 * sync lag. Durable through a store port: a file in local mode, Redis or DynamoDB deployed.
 */

export interface QueuedWrite {
  target: BackendRole;
  op: 'upsert' | 'delete';
  id: string;
  version: number;
  vector?: number[];
  metadata?: Record<string, unknown>;
  /** Epoch ms of the first miss (for the oldest-entry age). */
  queuedAt: number;
}

export interface QueueKey {
  target: BackendRole;
  id: string;
}

/** Persistence of the queue. `apply` resolves once the change is durable; it is called one at a time. */
export interface ReplayQueueStore {
  readonly kind: string;
  load(): Promise<QueuedWrite[]>;
  /** Store `put` (each replaces the entry of its target and id) and drop `remove`. */
  apply(put: QueuedWrite[], remove: QueueKey[]): Promise<void>;
  close(): Promise<void>;
}

export class MemoryReplayQueueStore implements ReplayQueueStore {
  readonly kind = 'memory';
  readonly entries = new Map<string, QueuedWrite>();
  async load(): Promise<QueuedWrite[]> {
    return [...this.entries.values()].map((e) => ({ ...e }));
  }
  async apply(put: QueuedWrite[], remove: QueueKey[]): Promise<void> {
    for (const k of remove) this.entries.delete(keyOf(k));
    for (const e of put) this.entries.set(keyOf(e), { ...e });
  }
  async close(): Promise<void> {}
}

export const keyOf = (k: QueueKey): string => `${k.target}\u0000${k.id}`;

export class ReplayQueueFullError extends Error {
  constructor(readonly limit: number, readonly depth: number, readonly target: BackendRole) {
    super(`the replay queue for the ${target} store holds ${depth} of at most ${limit} writes; the write was refused before any store saw it (bring the ${target} store back, or raise maxReplayQueue)`);
    this.name = 'ReplayQueueFullError';
  }
}

export function entriesOf(batch: WriteBatch, target: BackendRole, now: number): QueuedWrite[] {
  return batch.op === 'upsert'
    ? batch.vectors.map((v) => ({ target, op: 'upsert' as const, id: v.id, version: v.version, vector: v.vector, ...(v.metadata ? { metadata: v.metadata } : {}), queuedAt: now }))
    : batch.items.map((d) => ({ target, op: 'delete' as const, id: d.id, version: d.version, queuedAt: now }));
}

/** Entries of one store as the batches a writer takes (upserts and deletes apart). */
export function batchesOf(entries: QueuedWrite[]): WriteBatch[] {
  const vectors: VectorRecord[] = [];
  const items: DeleteItem[] = [];
  for (const e of entries) {
    if (e.op === 'upsert') vectors.push({ id: e.id, vector: e.vector ?? [], version: e.version, ...(e.metadata ? { metadata: e.metadata } : {}) });
    else items.push({ id: e.id, version: e.version });
  }
  return [...(vectors.length ? [{ op: 'upsert' as const, vectors }] : []), ...(items.length ? [{ op: 'delete' as const, items }] : [])];
}

/**
 * The queue in memory (the authority in this process) with its persistence: every change is written
 * through the store, in order, before the promise returned resolves.
 */
export class ReplayQueue {
  private readonly entries = new Map<string, QueuedWrite>();
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: ReplayQueueStore,
    readonly limit: number,
  ) {}

  /** Read what a previous process left (call once at start). */
  async load(): Promise<number> {
    for (const e of await this.store.load()) this.merge(e);
    return this.entries.size;
  }

  get kind(): string {
    return this.store.kind;
  }

  depth(target?: BackendRole): number {
    if (!target) return this.entries.size;
    let n = 0;
    for (const e of this.entries.values()) if (e.target === target) n++;
    return n;
  }

  /** Whether `count` more entries for `target` fit (ids already queued replace their entry, so this is conservative). */
  fits(count: number): boolean {
    return this.entries.size + count <= this.limit;
  }

  oldest(): number | null {
    let min: number | null = null;
    for (const e of this.entries.values()) if (min === null || e.queuedAt < min) min = e.queuedAt;
    return min;
  }

  private merge(e: QueuedWrite): boolean {
    const k = keyOf(e);
    const cur = this.entries.get(k);
    if (cur && cur.version >= e.version) return false;
    this.entries.set(k, cur ? { ...e, queuedAt: cur.queuedAt } : e);
    return true;
  }

  /** Queue writes a store missed (a newer version per id wins). Resolves when durable. */
  add(entries: QueuedWrite[]): Promise<void> {
    const put = entries.filter((e) => this.merge(e)).map((e) => this.entries.get(keyOf(e))!);
    return put.length ? this.persist(put, []) : this.chain;
  }

  /**
   * A store now holds these versions (a live write or a replay succeeded): drop their entries unless a newer
   * version was queued meanwhile.
   */
  settled(target: BackendRole, keys: Array<{ id: string; version: number }>): Promise<void> {
    const remove: QueueKey[] = [];
    for (const k of keys) {
      const cur = this.entries.get(keyOf({ target, id: k.id }));
      if (cur && cur.version <= k.version) {
        this.entries.delete(keyOf(cur));
        remove.push({ target, id: k.id });
      }
    }
    return remove.length ? this.persist([], remove) : Promise.resolve();
  }

  /** Up to `n` entries for `target`, oldest first (copies). */
  take(target: BackendRole, n: number): QueuedWrite[] {
    const out: QueuedWrite[] = [];
    for (const e of this.entries.values()) {
      if (e.target !== target) continue;
      out.push({ ...e });
      if (out.length >= n) break;
    }
    return out;
  }

  /** Ids queued for each store (the reconciliation report: acknowledged by one store, not yet in the other). */
  ids(target: BackendRole, limit: number): Array<{ id: string; version: number; op: 'upsert' | 'delete'; queuedAt: number }> {
    return this.take(target, limit).map((e) => ({ id: e.id, version: e.version, op: e.op, queuedAt: e.queuedAt }));
  }

  private persist(put: QueuedWrite[], remove: QueueKey[]): Promise<void> {
    const next = this.chain.then(() => this.store.apply(put, remove));
    // a failed persist is reported to its caller; the next one still runs
    this.chain = next.catch(() => undefined);
    return next;
  }

  /** Resolves when every persist started so far has finished. */
  flush(): Promise<void> {
    return this.chain;
  }

  close(): Promise<void> {
    return this.chain.then(() => this.store.close());
  }
}
