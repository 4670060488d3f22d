/**
 * The search proxy on a runtime: the same core proxy, its backends, credentials, shared breaker state and
 * operator switch from the environment; metrics through `metricsFor(runtime)`.
 *
 * | variable | meaning |
 * |---|---|
 * | `PRIMARY_BACKEND`, `FALLBACK_BACKEND` | backend config JSON (`kind` milvus / opensearch / generic / custom, …), see docs/search-proxy.md |
 * | `PRIMARY_URL_PARAMETER`, `FALLBACK_URL_PARAMETER` | SSM parameter holding the backend URL (overrides `url` in the JSON) |
 * | `BACKEND_CREDENTIALS` | `{"primary": {"type": "bearer", "token": "…"}, "fallback": …}` (Cloud Run mounts it from Secret Manager) |
 * | `BACKEND_CREDENTIALS_SECRET_ARN` (alias `BACKEND_CREDENTIALS_SECRET`) | the same JSON in Secrets Manager |
 * | `SEARCH_PROXY_SETTINGS` | proxy settings JSON (deadline, breaker thresholds, …); `SEARCH_PROXY_MODE` overrides its mode |
 * | `BREAKER_STATE_TABLE` / `BREAKER_STATE_REDIS_URL` | shared breaker state in DynamoDB / Redis (optional) |
 * | `BREAKER_STATE_REDIS_AUTH`, `BREAKER_STATE_REDIS_CA` | that Redis's AUTH string and TLS CA (Memorystore; lib/compose/redis-env.ts) |
 * | `BREAKER_SWITCH_PARAMETER`, `BREAKER_SWITCH_TTL_MS` | operator switch in Parameter Store (optional): breaker positions and the stage |
 * | `BREAKER_SWITCH_REDIS_KEY` | the same switch in a Redis key (GCP; needs `BREAKER_STATE_REDIS_URL`) |
 * | `REPLAY_QUEUE_TABLE` | keep writes a store missed in this DynamoDB table (`REPLAY#<breakerPrefix>` items; the breaker-state table on AWS) |
 * | `REPLAY_QUEUE_FILE` | keep them in this file (local mode) |
 * | (neither, with `BREAKER_STATE_REDIS_URL`) | keep them in that Redis (Cloud Run); with none of the three: memory, lost on restart |
 */
import * as z from '../core/zod';
import { authSchema, httpVectorBackend } from '../adapters/http/vector-backend';
import type { BreakerStateStore, OperatorSwitch } from '../core/search/breaker/ports';
import type { StageSwitch } from '../core/search/writes';
import type { ReplayQueueStore } from '../core/search/replay-queue';
import type { HttpHandler } from '../core/http';
import { searchProxy, type SearchProxy } from '../core/search/proxy';
import { PROXY_MODES } from '../core/search/settings';
import { formatZodError } from '../core/validation-util';
import { envJson, EnvError, parseEnv } from './env';
import { metricsFor, type Runtime, type RuntimeMetrics } from './metrics';
import { readParameter, secretFromEnv, sharedSsmClient } from './secrets';
import { redisConnectionFromEnv, redisEnvFields } from './redis-env';

export const searchProxyEnvSchema = z.object({
  PRIMARY_BACKEND: envJson,
  FALLBACK_BACKEND: envJson,
  PRIMARY_URL_PARAMETER: z.optional(z.string().check(z.minLength(1))),
  FALLBACK_URL_PARAMETER: z.optional(z.string().check(z.minLength(1))),
  BACKEND_CREDENTIALS: z.optional(z.string().check(z.minLength(1))),
  BACKEND_CREDENTIALS_SECRET_ARN: z.optional(z.string().check(z.minLength(1))),
  SEARCH_PROXY_SETTINGS: z.optional(envJson),
  SEARCH_PROXY_MODE: z.optional(z.enum(PROXY_MODES)),
  BREAKER_STATE_TABLE: z.optional(z.string().check(z.minLength(3))),
  BREAKER_SWITCH_PARAMETER: z.optional(z.string().check(z.minLength(1))),
  BREAKER_SWITCH_TTL_MS: z._default(z.coerce.number().check(z.int(), z.gte(100)), 5000),
  ...redisEnvFields,
  REPLAY_QUEUE_FILE: z.optional(z.string().check(z.minLength(1))),
  REPLAY_QUEUE_TABLE: z.optional(z.string().check(z.minLength(3))),
});
export type SearchProxyEnv = z.infer<typeof searchProxyEnvSchema>;

const credentialsSchema = z.strictObject({ primary: z.optional(authSchema), fallback: z.optional(authSchema) });

export interface SearchProxyRuntime {
  proxy: SearchProxy;
  /** Answers a request, then records the breaker states on the runtime's metrics and flushes them. */
  handler: HttpHandler;
  close(): Promise<void>;
}

export interface SearchProxyOptions {
  metrics: RuntimeMetrics;
  /** Lambda: wait for shadow calls and switch/state reads inside the invocation. */
  awaitBackground: boolean;
  onError: (context: string, error: unknown) => void;
}

/** Build the proxy from variables, reading SSM and Secrets Manager when they are named. */
export async function createSearchProxyFromEnv(env: NodeJS.ProcessEnv, opts: SearchProxyOptions): Promise<SearchProxyRuntime> {
  const e = parseEnv(searchProxyEnvSchema, env, 'search proxy', { BACKEND_CREDENTIALS_SECRET_ARN: ['BACKEND_CREDENTIALS_SECRET'] });
  if (e.BREAKER_STATE_TABLE && e.BREAKER_STATE_REDIS_URL) throw new EnvError('search proxy: bad environment: set BREAKER_STATE_TABLE or BREAKER_STATE_REDIS_URL, not both');
  const redis = redisConnectionFromEnv(e, 'search proxy');
  if (e.REPLAY_QUEUE_FILE && e.REPLAY_QUEUE_TABLE) throw new EnvError('search proxy: bad environment: set REPLAY_QUEUE_FILE or REPLAY_QUEUE_TABLE, not both');
  if (e.BREAKER_SWITCH_REDIS_KEY && e.BREAKER_SWITCH_PARAMETER) throw new EnvError('search proxy: bad environment: set BREAKER_SWITCH_PARAMETER or BREAKER_SWITCH_REDIS_KEY, not both');

  const rawCredentials = await secretFromEnv({ BACKEND_CREDENTIALS: e.BACKEND_CREDENTIALS, BACKEND_CREDENTIALS_SECRET_ARN: e.BACKEND_CREDENTIALS_SECRET_ARN }, 'BACKEND_CREDENTIALS');
  let credentials: unknown = {};
  if (rawCredentials) {
    try {
      credentials = JSON.parse(rawCredentials);
    } catch {
      // never echo the secret: only what is wrong with it
      throw new EnvError('search proxy: bad environment: the backend credentials are not JSON');
    }
  }
  const creds = credentialsSchema.safeParse(credentials);
  if (!creds.success) throw new EnvError(`search proxy: bad environment: backend credentials have the wrong shape: ${formatZodError(creds.error)}`);

  const backendConfig = async (config: unknown, urlParameter: string | undefined) =>
    urlParameter ? { ...(config as Record<string, unknown>), url: await readParameter(urlParameter) } : config;
  const primary = httpVectorBackend('primary', await backendConfig(e.PRIMARY_BACKEND, e.PRIMARY_URL_PARAMETER), creds.data.primary);
  const fallback = httpVectorBackend('fallback', await backendConfig(e.FALLBACK_BACKEND, e.FALLBACK_URL_PARAMETER), creds.data.fallback);

  const settings: Record<string, unknown> = { ...((e.SEARCH_PROXY_SETTINGS as Record<string, unknown> | undefined) ?? {}), ...(e.SEARCH_PROXY_MODE ? { mode: e.SEARCH_PROXY_MODE } : {}) };
  // the queue's name: the breaker prefix, so proxies sharing a table or a Redis keep their queues apart (checked with the settings)
  const queueName = typeof settings['breakerPrefix'] === 'string' ? settings['breakerPrefix'] : 'search';
  let replayQueue: ReplayQueueStore | undefined;
  if (e.REPLAY_QUEUE_FILE) replayQueue = new (require('../adapters/file/replay-queue-file') as typeof import('../adapters/file/replay-queue-file')).FileReplayQueueStore(e.REPLAY_QUEUE_FILE);
  else if (e.REPLAY_QUEUE_TABLE) {
    const { DynamoReplayQueueStore } = require('../adapters/aws/replay-queue-dynamodb') as typeof import('../adapters/aws/replay-queue-dynamodb');
    replayQueue = new DynamoReplayQueueStore({ tableName: e.REPLAY_QUEUE_TABLE, name: queueName });
  }

  let stateStore: BreakerStateStore | undefined;
  let operatorSwitch: (OperatorSwitch & StageSwitch) | undefined;
  if (e.BREAKER_STATE_TABLE) {
    const { DynamoBreakerStateStore } = require('../adapters/aws/breaker-state-dynamodb') as typeof import('../adapters/aws/breaker-state-dynamodb');
    stateStore = new DynamoBreakerStateStore({ tableName: e.BREAKER_STATE_TABLE });
  }
  if (redis) {
    // Left out of the AWS Lambda bundle (esbuild define; the AWS stack shares state through DynamoDB): if/else so the driver is dropped.
    if (process.env.MM_BUNDLE_OMIT_REDIS === 'true') throw new EnvError('search proxy: bad environment: BREAKER_STATE_REDIS_URL: Redis breaker state is not part of this AWS Lambda bundle; on AWS the breakers share state through DynamoDB (SearchProxy sharedState)');
    else {
      const { RedisBreakerStateStore } = require('../adapters/redis/breaker-state') as typeof import('../adapters/redis/breaker-state');
      const redisState = await RedisBreakerStateStore.connect(redis.url, redis);
      stateStore = redisState;
      // Cloud Run's shared store: the replay queue lives there too unless a file or table is named
      if (!replayQueue) {
        const { RedisReplayQueueStore } = require('../adapters/redis/replay-queue-redis') as typeof import('../adapters/redis/replay-queue-redis');
        replayQueue = new RedisReplayQueueStore(redisState.client, { name: queueName });
      }
      if (redis.switchKey) {
        const { RedisOperatorSwitch } = require('../adapters/redis/operator-switch') as typeof import('../adapters/redis/operator-switch');
        operatorSwitch = new RedisOperatorSwitch(redisState.client, redis.switchKey, 1000);
      }
    }
  }
  // Each breaker reads the switch every BREAKER_SWITCH_TTL_MS; the adapter's short cache lets the two
  // breakers, which read at the same moment, share one GetParameter.
  if (e.BREAKER_SWITCH_PARAMETER) {
    const { SsmOperatorSwitch } = require('../adapters/aws/ssm-switch') as typeof import('../adapters/aws/ssm-switch');
    operatorSwitch = new SsmOperatorSwitch({ parameterName: e.BREAKER_SWITCH_PARAMETER, client: sharedSsmClient(), ttlMs: 1000 });
  }

  const proxy = searchProxy({
    primary,
    fallback,
    settings,
    stateStore,
    operatorSwitch,
    stageSwitch: operatorSwitch,
    // writes only when both stores say how to take them
    ...(primary.writable && fallback.writable ? { writers: { primary, fallback }, replayQueue } : {}),
    breaker: { switchRefreshMs: e.BREAKER_SWITCH_TTL_MS },
    metrics: opts.metrics,
    ...(opts.metrics.text ? { metricsText: opts.metrics.text } : {}),
    awaitShadow: opts.awaitBackground,
    awaitSync: opts.awaitBackground,
    onError: opts.onError,
  });
  if (operatorSwitch || stateStore) await Promise.all(Object.values(proxy.breakers).map((b) => b.sync(true)));
  await proxy.startWrites({ background: !opts.awaitBackground });
  return {
    proxy,
    handler: async (req) => {
      try {
        return await proxy.handler(req);
      } finally {
        // Lambda runs nothing between invocations: replay a little after each answer while writes are behind
        if (opts.awaitBackground && proxy.writer) await proxy.writer.afterRequest().catch((err: unknown) => opts.onError('replay', err));
        // the breaker-open alarm and alert read BreakerState: recorded with every answer, on every runtime
        proxy.recordStates();
        opts.metrics.flush();
      }
    },
    close: async () => {
      await proxy.close();
      primary.close();
      fallback.close();
      await stateStore?.close();
    },
  };
}

/** The proxy on a runtime: EMF on Lambda (awaiting background work in the invocation), log lines on Cloud Run. */
export function composeSearchProxy(env: NodeJS.ProcessEnv, runtime: Runtime, onError: SearchProxyOptions['onError']): Promise<SearchProxyRuntime> {
  return createSearchProxyFromEnv(env, { metrics: metricsFor(runtime), awaitBackground: runtime === 'lambda', onError });
}
