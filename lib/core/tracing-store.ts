import type { HistoryPoint, HistoryWrite } from './history';
import type { ActivityEntry } from './model';
import { DURABLE_NOW, type ActivityQuery, type CommitRequest, type CommitResult, type IdempotencyRecord, type ProgressStore, type StoredMigration } from './store';
import { tracer, type Span, type Tracer } from './tracing';

/** The store's kind as OpenTelemetry's `db.system.name`. */
const DB_SYSTEM: Record<string, string> = { dynamodb: 'aws.dynamodb', redis: 'redis' };

/**
 * The store with a client span per call (OpenTelemetry database conventions: `{db.operation.name} {store}`,
 * `db.system.name`, `db.operation.name`, `migration.id`), and for a commit the wait for durability (the embedded
 * store's group fsync) in its own span `migration.tracker.durable`, from acceptance to durable; a store that is
 * durable when its commit returns (`DURABLE_NOW`: memory, DynamoDB, Redis) has no such wait and no such span. The spans are
 * children of `parent` when given (a tracker change hands its span down), else of the active span; a call
 * outside any trace, or in a trace the sampler dropped, makes no span and builds no attributes. A plain class,
 * not a Proxy: one small object per traced change, no trap per call.
 */
class TracedStore implements ProgressStore {
  readonly kind: string;
  private readonly system: string;
  constructor(
    private readonly store: ProgressStore,
    private readonly t: Tracer,
    private readonly parent: Span | undefined,
  ) {
    this.kind = store.kind;
    this.system = DB_SYSTEM[store.kind] ?? store.kind;
  }

  /** `fn` in the span `{operation} {store}`, or `fn` alone outside a recorded trace. */
  private call<T>(operation: string, migrationId: string | undefined, fn: () => Promise<T>, then?: (span: Span, r: T) => T): Promise<T> {
    const p = this.parent ?? this.t.activeSpan();
    if (!p?.recording) return fn();
    // db.system.name names the store (what migration.store would repeat on every call); three attributes a call
    const attributes = { 'db.system.name': this.system, 'db.operation.name': operation, 'migration.id': migrationId };
    const r = this.t.childSpan(p, `${operation} ${this.kind}`, { kind: 'client', attributes }, fn);
    return then ? r.then((v) => then(p, v)) : r;
  }

  load(migrationId: string): Promise<StoredMigration | null> {
    return this.call('load', migrationId, () => this.store.load(migrationId));
  }
  commit(req: CommitRequest): Promise<CommitResult> {
    return this.call('commit', req.migrationId, () => this.store.commit(req), (parent, r) =>
      // a store durable when commit returns (DURABLE_NOW) has no wait to show
      r.ok && r.durable !== DURABLE_NOW ? { ...r, durable: this.t.childSpan(parent, 'migration.tracker.durable', { attributes: { 'migration.id': req.migrationId, 'migration.store': this.kind } }, () => r.durable) } : r,
    );
  }
  listMigrations(): Promise<string[]> {
    return this.call('listMigrations', undefined, () => this.store.listMigrations());
  }
  readActivity(migrationId: string, query?: ActivityQuery): Promise<ActivityEntry[]> {
    return this.call('readActivity', migrationId, () => this.store.readActivity(migrationId, query));
  }
  getIdempotency(migrationId: string, key: string): Promise<IdempotencyRecord | null> {
    return this.call('getIdempotency', migrationId, () => this.store.getIdempotency(migrationId, key));
  }
  putHistory(migrationId: string, writes: HistoryWrite[]): Promise<void> {
    return this.call('putHistory', migrationId, () => this.store.putHistory(migrationId, writes));
  }
  readHistory(migrationId: string, tier: string): Promise<HistoryPoint[]> {
    return this.call('readHistory', migrationId, () => this.store.readHistory(migrationId, tier));
  }
  close(): Promise<void> {
    return this.store.close();
  }
}

/** The store traced as TracedStore says; the store itself when tracing is off. */
export function tracedStore(store: ProgressStore, parent?: Span): ProgressStore {
  const t = tracer();
  return t.enabled ? new TracedStore(store, t, parent) : store;
}

/**
 * The store whose spans are children of `span` (a tracker change's): the store itself when `span` records
 * nothing (tracing off, or a trace the sampler dropped), `fallback` (the store traced through the active span)
 * when there is no span.
 */
export function storeIn(store: ProgressStore, span: Span | undefined, fallback: ProgressStore): ProgressStore {
  if (span === undefined) return fallback;
  return span.recording ? tracedStore(store, span) : store;
}
