/**
 * Where `migration-monitor cutover` and `rollback` move the search proxy's stage: the operator switch of
 * each runtime. AWS: the SSM parameter the proxies read (`--switch-parameter`); GCP: the Redis key in the
 * Memorystore instance they share, reached exactly as the proxies reach it: from their variables
 * (`BREAKER_STATE_REDIS_URL`, `_AUTH`, `_CA`, `BREAKER_SWITCH_REDIS_KEY`; lib/compose/redis-env.ts), which
 * `--switch-redis`, `--switch-key` and `--switch-redis-ca` override; local mode: the proxy's admin API
 * (`--proxy`, default http://127.0.0.1:8081).
 */
import * as z from '../core/zod';
import { proxyStageSchema, type ProxyStage } from '../core/search/writes';
import { EnvError, parseEnv } from './env';
import { redisConnectionFromEnv, redisEnvFields } from './redis-env';

export interface StageControl {
  /** Where the switch is, for messages ("SSM parameter /mm/prod/search-proxy/breaker-switch"). */
  readonly where: string;
  /** The stage the switch holds (null: none set, the proxies' settings decide). */
  current(): Promise<ProxyStage | null>;
  set(stage: ProxyStage): Promise<{ from: ProxyStage | null; to: ProxyStage }>;
  close(): Promise<void>;
}

export interface StageControlOptions {
  switchParameter?: string;
  region?: string;
  switchRedis?: string;
  switchKey?: string;
  /** PEM of the CA that signed the Redis server's certificate (`rediss://`). */
  switchRedisCa?: string;
  proxy?: string;
  token?: string;
}

export const DEFAULT_PROXY_URL = 'http://127.0.0.1:8081';

/**
 * The switch the options name; without one, the GCP proxies' own variables in `env` (what the GCP construct
 * gives them, see `terraform output search_proxy_switch`), else the local proxy.
 */
export async function stageControl(o: StageControlOptions, env: NodeJS.ProcessEnv = {}): Promise<StageControl> {
  const chosen = [o.switchParameter && '--switch-parameter', o.switchRedis && '--switch-redis', o.proxy && '--proxy'].filter(Boolean);
  if (chosen.length > 1) throw new EnvError(`choose one operator switch: ${chosen.join(', ')} were all given`);
  const redis = chosen.length && !o.switchRedis
    ? undefined
    : redisConnectionFromEnv(
        {
          ...parseEnv(z.object(redisEnvFields), env, 'the operator switch'),
          ...(o.switchRedis ? { BREAKER_STATE_REDIS_URL: o.switchRedis } : {}),
          ...(o.switchKey ? { BREAKER_SWITCH_REDIS_KEY: o.switchKey } : {}),
          ...(o.switchRedisCa ? { BREAKER_STATE_REDIS_CA: o.switchRedisCa } : {}),
        },
        'the operator switch',
      );
  if (redis && !redis.switchKey) {
    throw new EnvError(o.switchRedis ? '--switch-redis needs --switch-key (the key the proxies read: their BREAKER_SWITCH_REDIS_KEY)' : 'BREAKER_STATE_REDIS_URL is set without BREAKER_SWITCH_REDIS_KEY: give the key the proxies read (--switch-key)');
  }
  if (o.switchParameter) {
    const { SSMClient } = require('@aws-sdk/client-ssm') as typeof import('@aws-sdk/client-ssm');
    const { readSsmSwitch, setSsmStage } = require('../adapters/aws/ssm-stage') as typeof import('../adapters/aws/ssm-stage');
    const { stageIn } = require('../core/search/switch-value') as typeof import('../core/search/switch-value');
    const client = new SSMClient(o.region ? { region: o.region } : {});
    const name = o.switchParameter;
    return {
      where: `SSM parameter ${name}`,
      current: async () => {
        const v = await readSsmSwitch(client, name);
        return v === null ? null : stageIn(v);
      },
      set: (stage) => setSsmStage(client, name, stage),
      close: async () => client.destroy(),
    };
  }
  if (redis) {
    const { RedisBreakerStateStore } = require('../adapters/redis/breaker-state') as typeof import('../adapters/redis/breaker-state');
    const { readRedisSwitch, setRedisStage } = require('../adapters/redis/operator-switch') as typeof import('../adapters/redis/operator-switch');
    const { stageIn } = require('../core/search/switch-value') as typeof import('../core/search/switch-value');
    const store = await RedisBreakerStateStore.connect(redis.url, redis);
    const key = redis.switchKey!;
    return {
      where: `Redis key ${key}`,
      current: async () => {
        const v = await readRedisSwitch(store.client, key);
        return v === null ? null : stageIn(v);
      },
      set: (stage) => setRedisStage(store.client, key, stage),
      close: () => store.close(),
    };
  }
  const base = (o.proxy ?? DEFAULT_PROXY_URL).replace(/\/+$/, '');
  const headers: Record<string, string> = { 'content-type': 'application/json', ...(o.token ? { authorization: `Bearer ${o.token}` } : {}) };
  const answer = z.looseObject({ stage: proxyStageSchema });
  const call = async (method: 'GET' | 'POST', body?: unknown) => {
    let r: Response;
    try {
      r = await fetch(`${base}/admin/stage`, { method, headers, ...(body ? { body: JSON.stringify(body) } : {}), signal: AbortSignal.timeout(10_000) });
    } catch (e) {
      throw new Error(`cannot reach the search proxy at ${base}: ${(e as Error).message}`);
    }
    const text = await r.text();
    if (r.status !== 200) throw new Error(`the search proxy at ${base} answered HTTP ${r.status}: ${text.slice(0, 300)}`);
    return answer.parse(JSON.parse(text));
  };
  return {
    where: `the search proxy's admin API at ${base}`,
    current: async () => (await call('GET')).stage,
    set: async (stage) => {
      const r = await call('POST', { stage });
      return { from: (proxyStageSchema.safeParse(r['from']).data ?? null) as ProxyStage | null, to: r.stage };
    },
    close: async () => undefined,
  };
}
