import type { CommitResult, ProgressStore } from './store';
import { tracer, type Attributes, type Span } from './tracing';

/** The store's kind as OpenTelemetry's `db.system.name`. */
const DB_SYSTEM: Record<string, string> = { dynamodb: 'aws.dynamodb', redis: 'redis' };

/**
 * The store with a client span per call (OpenTelemetry database conventions: `{db.operation.name} {store}`,
 * `db.system.name`, `db.operation.name`, `migration.id`), and for a commit the wait for durability (the embedded
 * store's group fsync) in its own span `migration.tracker.durable`, from acceptance to durable. The spans are
 * children of `parent` when given (a tracker change hands its span down), else of the active span; a call
 * outside any trace, or in a trace the sampler dropped, makes no span and builds no attributes. The store
 * itself when tracing is off.
 */
export function tracedStore(store: ProgressStore, parent?: Span): ProgressStore {
  const t = tracer();
  if (!t.enabled) return store;
  const system = DB_SYSTEM[store.kind] ?? store.kind;
  return new Proxy(store, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof v !== 'function' || typeof prop !== 'string') return v;
      const method = v as (...a: unknown[]) => Promise<unknown>;
      return (...args: unknown[]): Promise<unknown> => {
        const p = parent ?? t.activeSpan();
        if (!p?.recording) return method.apply(target, args);
        const first = args[0] as string | { migrationId?: string } | undefined;
        const migrationId = typeof first === 'string' ? first : first?.migrationId;
        const attributes: Attributes = { 'db.system.name': system, 'db.operation.name': prop, 'migration.store': store.kind, 'migration.id': migrationId };
        const call = t.childSpan(p, `${prop} ${store.kind}`, { kind: 'client', attributes }, () => method.apply(target, args));
        if (prop !== 'commit') return call;
        return call.then((r) => {
          const c = r as CommitResult;
          return c.ok ? { ...c, durable: t.childSpan(p, 'migration.tracker.durable', { attributes: { 'migration.id': migrationId, 'migration.store': store.kind } }, () => c.durable) } : c;
        });
      };
    },
  });
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
