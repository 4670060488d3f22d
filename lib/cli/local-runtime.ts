import fs from 'node:fs';
import path from 'node:path';
import { FileStore } from '../adapters/file/file-store';
import { RedisStore } from '../adapters/redis/redis-store';
import type { ProgressStore } from '../core/store';
import { redactUrl } from '../core/redact';
import { tokensFileSchema, type NamedTokens } from '../core/tracker/identity';
import { formatZodError } from '../core/validation-util';
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

/**
 * A tokens file (`serve --tokens-file`): JSON `{"alice": "<token>", "ci-job": "<token>"}`, one token per person or
 * job; each change is recorded under the name of the token that made it. Refused when readable by others.
 */
export function readTokensFile(file: string): NamedTokens {
  let text: string;
  try {
    const st = fs.statSync(file);
    if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
      throw new CliError(`--tokens-file ${file}: readable by other users (mode ${(st.mode & 0o777).toString(8)}): chmod 600 it`, 2);
    }
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError(`--tokens-file ${file}: ${(e as Error).message}`, 2);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new CliError(`--tokens-file ${file}: not JSON (expected {"name": "token", ...}): ${(e as Error).message}`, 2);
  }
  const r = tokensFileSchema.safeParse(json);
  if (!r.success) throw new CliError(`--tokens-file ${file}: ${formatZodError(r.error)}`, 2);
  return r.data;
}
