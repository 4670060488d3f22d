import path from 'node:path';
import { FileStore } from '../adapters/file/file-store';
import { RedisStore } from '../adapters/redis/redis-store';
import type { ProgressStore } from '../core/store';
import { redactUrl } from '../core/redact';
import { CliError } from './errors';

export type StoreKind = 'file' | 'memory' | 'redis';

export interface StoreChoice {
  store?: string;
  dataDir?: string;
  redisUrl?: string;
}

export const DEFAULT_DATA_DIR = '.data/migration-monitor';

/** The composition root's store choice for local runs: embedded file store by default. */
export async function openStore(o: StoreChoice): Promise<{ store: ProgressStore; description: string }> {
  const kind = (o.store ?? process.env['MIGRATION_MONITOR_STORE'] ?? 'file') as StoreKind;
  switch (kind) {
    case 'file': {
      const dir = path.resolve(o.dataDir ?? process.env['MIGRATION_MONITOR_DATA_DIR'] ?? DEFAULT_DATA_DIR);
      try {
        return { store: await FileStore.open(dir), description: `embedded file store in ${dir}` };
      } catch (e) {
        throw new CliError((e as Error).message, 1);
      }
    }
    case 'memory':
      return { store: FileStore.inMemory(), description: 'in-memory store (nothing is kept after exit)' };
    case 'redis': {
      const url = o.redisUrl ?? process.env['REDIS_URL'];
      if (!url) throw new CliError('--store redis needs --redis-url or REDIS_URL', 2);
      try {
        return { store: await RedisStore.connect(url), description: `redis at ${redactUrl(url)}` };
      } catch (e) {
        throw new CliError((e as Error).message, 1);
      }
    }
    default:
      throw new CliError(`--store must be file, memory or redis (got "${String(kind)}")`, 2);
  }
}
