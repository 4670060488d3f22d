import type { CommitRequest, CommitResult, ProgressStore } from './store';
import { traceMethods, tracer, withSpan } from './tracing';

/** The store's kind as OpenTelemetry's `db.system.name`. */
const DB_SYSTEM: Record<string, string> = { dynamodb: 'aws.dynamodb', redis: 'redis' };

/**
 * The store with a client span per call (OpenTelemetry database conventions: `{db.operation.name} {store}`,
 * `db.system.name`, `db.operation.name`, `migration.id`). The store itself when tracing is off.
 */
export function tracedStore(store: ProgressStore): ProgressStore {
  if (!tracer().enabled) return store;
  const traced = traceMethods(
    store,
    (method) => `${method} ${store.kind}`,
    (method, args) => {
      const first = args[0] as string | { migrationId?: string } | undefined;
      return { 'db.system.name': DB_SYSTEM[store.kind] ?? store.kind, 'db.operation.name': method, 'migration.store': store.kind, 'migration.id': typeof first === 'string' ? first : first?.migrationId };
    },
    'client',
  );
  return new Proxy(traced, {
    get(t, prop, receiver) {
      if (prop !== 'commit') return Reflect.get(t, prop, receiver) as unknown;
      // The wait for durability (the embedded store's group fsync) in its own span, from acceptance to durable.
      return async (req: CommitRequest): Promise<CommitResult> => {
        const r = await t.commit(req);
        return r.ok ? { ...r, durable: withSpan('migration.tracker.durable', { attributes: { 'migration.id': req.migrationId, 'migration.store': store.kind } }, () => r.durable) } : r;
      };
    },
  });
}
