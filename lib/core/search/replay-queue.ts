import { performance } from 'node:perf_hooks';
import type { BackendRole } from './settings';
import type { DeleteItem, VectorRecord, WriteBatch } from './writes';

/**
 * Writes a follower store missed (it was down, slow, failing, or its breaker was open), kept until they are
 * replayed. One entry per store and id: a newer version replaces an older one (the store would ignore the
 * older one anyway), so the queue is bounded by the number of distinct ids behind, and its size is the
 * sync lag. Durable through a store port: a file in local mode, Redis or DynamoDB deployed.
 *
 * A store that several processes share (Redis, DynamoDB: `claim` present) is the authority: each process
 * keeps a view of it, re-read every `refreshMs` (so the depth is the whole queue's, whoever queued), writes
 * through conditional puts (an entry never goes back a version) and conditional removes (a settle of v1
 * never drops a v2 queued meanwhile), and replays only entries it has leased, so two processes replaying at
 * once never send the same entry together.
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

/** A store holds `version` of this id now: its entry goes unless it is newer. */
export interface SettledKey extends QueueKey {
  version: number;
}

/** Persistence of the queue. `apply` resolves once the change is durable; it is called one at a time per process. */
export interface ReplayQueueStore {
  readonly kind: string;
  /** Every entry. A shared store may leave out `vector` and `metadata` (its `claim` returns them). */
  load(): Promise<QueuedWrite[]>;
  /**
   * Store `put` (each replaces the entry of its target and id only when its version is newer; the first
   * `queuedAt` is kept) and drop `remove` (only while the stored version is not newer than the one settled).
   */
  apply(put: QueuedWrite[], remove: SettledKey[]): Promise<void>;
  /**
   * Shared stores: lease these entries to this process for `leaseMs` (each only if it still holds that
   * version and no other process holds an unexpired lease on it) and return the ones leased, whole. A newer
   * version put over a leased entry drops the lease.
   */
  claim?(target: BackendRole, keys: Array<{ id: string; version: number }>, leaseMs: number): Promise<QueuedWrite[]>;
  /** Shared stores: end this process's leases on these entries (a replay that failed: others may try at once). */
  release?(target: BackendRole, ids: string[]): Promise<void>;
  close(): Promise<void>;
}

export class MemoryReplayQueueStore implements ReplayQueueStore {
  readonly kind = 'memory';
  readonly entries = new Map<string, QueuedWrite>();
  async load(): Promise<QueuedWrite[]> {
    return [...this.entries.values()].map((e) => ({ ...e }));
  }
  async apply(put: QueuedWrite[], remove: SettledKey[]): Promise<void> {
    for (const k of remove) {
      const cur = this.entries.get(keyOf(k));
      if (cur && cur.version <= k.version) this.entries.delete(keyOf(k));
    }
    for (const e of put) {
      const cur = this.entries.get(keyOf(e));
      if (!cur || cur.version < e.version) this.entries.set(keyOf(e), { ...e, queuedAt: cur?.queuedAt ?? e.queuedAt });
    }
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

export interface ReplayQueueOptions {
  /** Shared stores: how often this process re-reads the whole queue (ms). Default 5000. */
  refreshMs?: number;
  /** Monotonic ms. */
  now?: () => number;
}

type Change = { put: QueuedWrite } | { remove: SettledKey };

/**
 * The queue in memory (this process's view; the authority when the store is not shared) with its
 * persistence: every change is written through the store, in order, before the promise returned resolves.
 */
export class ReplayQueue {
  private readonly entries = new Map<string, QueuedWrite>();
  private readonly counts: Record<BackendRole, number> = { primary: 0, fallback: 0 };
  private chain: Promise<void> = Promise.resolve();
  /** Changes made while a refresh reads the store: applied again over what it read. */
  private changes: Change[] | null = null;
  private refreshing: Promise<void> | null = null;
  private refreshAt = -Infinity;
  private readonly refreshMs: number;
  private readonly now: () => number;

  constructor(
    private readonly store: ReplayQueueStore,
    readonly limit: number,
    opts: ReplayQueueOptions = {},
  ) {
    this.refreshMs = opts.refreshMs ?? 5000;
    this.now = opts.now ?? (() => performance.now());
  }

  /** Whether other processes share the store (entries are leased before they are replayed). */
  get shared(): boolean {
    return typeof this.store.claim === 'function';
  }

  /** Read what a previous process left (call once at start). */
  async load(): Promise<number> {
    for (const e of await this.store.load()) this.merge(e);
    this.refreshAt = this.now() + this.refreshMs;
    return this.entries.size;
  }

  /**
   * Shared stores: re-read the queue when `refreshMs` has passed (what other processes queued and settled).
   * After the changes this process has in flight; changes made meanwhile are kept over what was read.
   */
  refreshIfDue(): Promise<void> {
    if (!this.shared || this.now() < this.refreshAt) return this.refreshing ?? Promise.resolve();
    this.refreshAt = this.now() + this.refreshMs;
    if (this.refreshing) return this.refreshing;
    // from now on: a change made before the read may or may not be in what it reads; applied again, it is
    this.changes = [];
    this.refreshing = this.chain
      .then(async () => {
        const loaded = await this.store.load();
        const changes = this.changes ?? [];
        this.entries.clear();
        this.counts.primary = this.counts.fallback = 0;
        for (const e of loaded) this.merge(e);
        for (const c of changes) if ('put' in c) this.merge(c.put);
        else this.drop(c.remove);
      })
      .finally(() => {
        this.changes = null;
        this.refreshing = null;
      });
    return this.refreshing;
  }

  get kind(): string {
    return this.store.kind;
  }

  depth(target?: BackendRole): number {
    return target ? this.counts[target] : this.entries.size;
  }

  /** Whether `count` more entries fit (ids already queued replace their entry, so this is conservative). */
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
    if (!cur) this.counts[e.target]++;
    this.entries.set(k, cur ? { ...e, queuedAt: cur.queuedAt } : e);
    return true;
  }

  private drop(k: SettledKey): boolean {
    const cur = this.entries.get(keyOf(k));
    if (!cur || cur.version > k.version) return false;
    this.entries.delete(keyOf(cur));
    this.counts[cur.target]--;
    return true;
  }

  /** Queue writes a store missed (a newer version per id wins). Resolves when durable. */
  add(entries: QueuedWrite[]): Promise<void> {
    const put = entries.filter((e) => this.merge(e)).map((e) => this.entries.get(keyOf(e))!);
    this.changes?.push(...put.map((p) => ({ put: p })));
    return put.length ? this.persist(put, []) : this.chain;
  }

  /**
   * A store now holds these versions (a live write or a replay succeeded): drop their entries unless a newer
   * version was queued meanwhile (here, or in a shared store by another process).
   */
  settled(target: BackendRole, keys: Array<{ id: string; version: number }>, opts: { everywhere?: boolean } = {}): Promise<void> {
    const remove: SettledKey[] = [];
    for (const k of keys) {
      const key = { target, id: k.id, version: k.version };
      // `everywhere` (a replay of leased entries): a shared store may hold them though this view has dropped them
      if (this.drop(key) || (opts.everywhere && this.shared)) remove.push(key);
    }
    this.changes?.push(...remove.map((r) => ({ remove: r })));
    return remove.length ? this.persist([], remove) : Promise.resolve();
  }

  /** Up to `n` entries for `target`, oldest first (copies of this view). */
  take(target: BackendRole, n: number): QueuedWrite[] {
    const out: QueuedWrite[] = [];
    for (const e of this.entries.values()) {
      if (e.target !== target) continue;
      out.push({ ...e });
      if (out.length >= n) break;
    }
    return out;
  }

  /**
   * Up to `n` entries for `target` to replay, whole. A shared store leases them to this process for
   * `leaseMs` first, so another process replaying at the same moment takes other entries (or none).
   */
  async claim(target: BackendRole, n: number, leaseMs: number): Promise<QueuedWrite[]> {
    if (!this.store.claim) return this.take(target, n);
    const candidates = this.take(target, n).map((e) => ({ id: e.id, version: e.version }));
    if (!candidates.length) return [];
    await this.chain;
    return this.store.claim(target, candidates, leaseMs);
  }

  /** End this process's leases on entries it could not replay (shared stores; nothing otherwise). */
  async release(target: BackendRole, ids: string[]): Promise<void> {
    if (this.store.release && ids.length) await this.store.release(target, ids);
  }

  /** Ids queued for each store (the reconciliation report: acknowledged by one store, not yet in the other). */
  ids(target: BackendRole, limit: number): Array<{ id: string; version: number; op: 'upsert' | 'delete'; queuedAt: number }> {
    return this.take(target, limit).map((e) => ({ id: e.id, version: e.version, op: e.op, queuedAt: e.queuedAt }));
  }

  private persist(put: QueuedWrite[], remove: SettledKey[]): Promise<void> {
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
