/**
 * The Redis the GCP search proxies share (breaker state, replay queue, operator switch), from the variables the
 * GCP construct gives the proxy: read here for both the proxy (lib/compose/search-proxy.ts) and the CLI's
 * `cutover`/`rollback` (lib/compose/stage-control.ts), so the two always reach the same Redis the same way.
 *
 * | variable | meaning |
 * |---|---|
 * | `BREAKER_STATE_REDIS_URL` | `redis://` or `rediss://` (TLS) URL; the construct's Memorystore: `rediss://<host>:<port>` |
 * | `BREAKER_STATE_REDIS_AUTH` | AUTH string when the URL has no password (Secret Manager; the instance's AUTH) |
 * | `BREAKER_STATE_REDIS_CA` | PEM of the CA(s) that signed the server's certificate (the instance's `server_ca_certs`) |
 * | `BREAKER_SWITCH_REDIS_KEY` | the key holding the operator switch (breaker positions and the stage) |
 */
import * as z from '../core/zod';
import { EnvError } from './env';

export const redisEnvFields = {
  BREAKER_STATE_REDIS_URL: z.optional(z.string().check(z.regex(/^rediss?:\/\//, 'a redis:// or rediss:// URL'))),
  BREAKER_STATE_REDIS_AUTH: z.optional(z.string().check(z.minLength(1))),
  BREAKER_STATE_REDIS_CA: z.optional(z.string().check(z.regex(/-----BEGIN CERTIFICATE-----/, 'PEM certificate(s)'))),
  BREAKER_SWITCH_REDIS_KEY: z.optional(z.string().check(z.minLength(1), z.maxLength(200))),
};

export interface RedisConnection {
  url: string;
  password?: string;
  ca?: string;
  /** The operator switch's key, when the switch is in this Redis. */
  switchKey?: string;
}

type RedisEnv = { [K in keyof typeof redisEnvFields]?: string };

/** The shared Redis the variables name, or undefined when none is set; inconsistent settings are an EnvError naming them. */
export function redisConnectionFromEnv(e: RedisEnv, who: string): RedisConnection | undefined {
  const url = e.BREAKER_STATE_REDIS_URL;
  if (!url) {
    const orphan = (['BREAKER_STATE_REDIS_AUTH', 'BREAKER_STATE_REDIS_CA', 'BREAKER_SWITCH_REDIS_KEY'] as const).filter((k) => e[k]);
    if (orphan.length) throw new EnvError(`${who}: bad environment: ${orphan.join(', ')} ${orphan.length > 1 ? 'need' : 'needs'} BREAKER_STATE_REDIS_URL (the Redis that holds it)`);
    return undefined;
  }
  if (e.BREAKER_STATE_REDIS_CA && !url.startsWith('rediss://')) throw new EnvError(`${who}: bad environment: BREAKER_STATE_REDIS_CA is set but BREAKER_STATE_REDIS_URL is not a rediss:// (TLS) URL`);
  return {
    url,
    ...(e.BREAKER_STATE_REDIS_AUTH ? { password: e.BREAKER_STATE_REDIS_AUTH } : {}),
    ...(e.BREAKER_STATE_REDIS_CA ? { ca: e.BREAKER_STATE_REDIS_CA } : {}),
    ...(e.BREAKER_SWITCH_REDIS_KEY ? { switchKey: e.BREAKER_SWITCH_REDIS_KEY } : {}),
  };
}
