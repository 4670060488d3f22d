import { startDynalite } from '../../test/support/dynalite';
import { startRedis } from '../../test/support/redis';

/**
 * The tracker store a tracing benchmark runs on (BENCH_TRACING_STORE), and the argument that tells
 * bench/servers/traced-server.ts where it is:
 *
 * - `memory` (default): the tracker's own work per update is smallest, so tracing's share is largest;
 * - `file`: the embedded store on disk (journal and group fsync), what local mode runs;
 * - `dynamodb`: what the Lambda tracker runs, on a dynalite started here (in this process, so its CPU is not
 *   the server's), as the tests start it;
 * - `redis`: what the Cloud Run tracker runs, on a redis-server started here, as the tests start it.
 */
export const STORE_KINDS = ['memory', 'file', 'dynamodb', 'redis'] as const;
export type StoreKind = (typeof STORE_KINDS)[number];

export function storeKind(): StoreKind {
  const kind = process.env['BENCH_TRACING_STORE'] ?? 'memory';
  if (!(STORE_KINDS as readonly string[]).includes(kind)) throw new Error(`BENCH_TRACING_STORE=${kind}: use one of ${STORE_KINDS.join(', ')}`);
  return kind as StoreKind;
}

export async function startBenchStore(kind: StoreKind): Promise<{ arg: string; stop: () => Promise<void> }> {
  if (kind === 'memory' || kind === 'file') return { arg: kind, stop: async () => undefined };
  if (kind === 'dynamodb') {
    const dynalite = await startDynalite();
    return { arg: `dynamodb=${dynalite.endpoint}`, stop: () => dynalite.stop() };
  }
  const redis = await startRedis();
  return { arg: `redis=${redis.url}`, stop: () => redis.stop() };
}
