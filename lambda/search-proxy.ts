/**
 * Search proxy entry: the same core proxy behind a Lambda function URL / HTTP API (this module's `handler`)
 * or on Cloud Run (`createHttpHandler`, an HttpHandler factory for serveHttp / lambda/cloud-run.ts).
 * Parse the event → core proxy → shape the answer; configuration comes from the environment:
 *
 * | variable | meaning |
 * |---|---|
 * | `PRIMARY_BACKEND`, `FALLBACK_BACKEND` | backend config JSON (`kind` milvus / opensearch / generic / custom, …), see docs/search-proxy.md |
 * | `PRIMARY_URL_PARAMETER`, `FALLBACK_URL_PARAMETER` | SSM parameter holding the backend URL (overrides `url` in the JSON) |
 * | `BACKEND_CREDENTIALS_SECRET` | Secrets Manager secret id: `{"primary": {"type": "bearer", "token": "…"}, "fallback": …}` |
 * | `BACKEND_CREDENTIALS` | the same JSON given directly (Cloud Run mounts Secret Manager secrets as env) |
 * | `SEARCH_PROXY_SETTINGS` | proxy settings JSON (deadline, breaker thresholds, …); `SEARCH_PROXY_MODE` overrides its mode |
 * | `BREAKER_STATE_TABLE` / `BREAKER_STATE_REDIS_URL` | shared breaker state in DynamoDB / Redis (optional) |
 * | `BREAKER_SWITCH_PARAMETER`, `BREAKER_SWITCH_TTL_MS` | operator switch in Parameter Store (optional) |
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context } from 'aws-lambda';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { z } from 'zod';
import { DynamoBreakerStateStore } from '../lib/adapters/aws/breaker-state-dynamodb';
import { EmfMetricsSink } from '../lib/adapters/aws/emf-metrics';
import { SsmOperatorSwitch } from '../lib/adapters/aws/ssm-switch';
import { authSchema, httpVectorBackend } from '../lib/adapters/http/vector-backend';
import { PrometheusSink } from '../lib/adapters/local/prometheus-sink';
import type { BreakerStateStore } from '../lib/core/search/breaker/ports';
import { json, type HttpHandler } from '../lib/core/http';
import type { ObservationSink } from '../lib/core/logwatch/sink';
import { searchProxy, type SearchProxy } from '../lib/core/search/proxy';
import { PROXY_MODES } from '../lib/core/search/settings';
import { formatZodError } from '../lib/core/validation-util';
import { toApiGatewayResult, toHttpRequest } from './shared/apigw';
import { logger, markInvocation, metrics } from './shared/powertools';

const jsonText = (what: string) =>
  z.string().transform((s, ctx) => {
    try {
      return JSON.parse(s) as unknown;
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: `${what} is not valid JSON: ${(e as Error).message}` });
      return z.NEVER;
    }
  });

export const envSchema = z.object({
  PRIMARY_BACKEND: jsonText('PRIMARY_BACKEND'),
  FALLBACK_BACKEND: jsonText('FALLBACK_BACKEND'),
  PRIMARY_URL_PARAMETER: z.string().min(1).optional(),
  FALLBACK_URL_PARAMETER: z.string().min(1).optional(),
  BACKEND_CREDENTIALS_SECRET: z.string().min(1).optional(),
  BACKEND_CREDENTIALS: jsonText('BACKEND_CREDENTIALS').optional(),
  SEARCH_PROXY_SETTINGS: jsonText('SEARCH_PROXY_SETTINGS').optional(),
  SEARCH_PROXY_MODE: z.enum(PROXY_MODES).optional(),
  BREAKER_STATE_TABLE: z.string().min(3).optional(),
  BREAKER_STATE_REDIS_URL: z.string().regex(/^rediss?:\/\//, 'a redis:// or rediss:// URL').optional(),
  BREAKER_SWITCH_PARAMETER: z.string().min(1).optional(),
  BREAKER_SWITCH_TTL_MS: z.coerce.number().int().min(100).default(5000),
});
export type SearchProxyEnv = z.infer<typeof envSchema>;

const credentialsSchema = z.strictObject({ primary: authSchema.optional(), fallback: authSchema.optional() });

export interface SearchProxyRuntime {
  proxy: SearchProxy;
  handler: HttpHandler;
  close(): Promise<void>;
}

export interface RuntimeOptions {
  /** Where metric observations go (EMF on Lambda, Prometheus elsewhere). */
  metrics: ObservationSink;
  metricsText?: () => Promise<string>;
  /** Lambda: wait for shadow calls and switch/state reads inside the invocation. */
  lambda: boolean;
  onError: (context: string, error: unknown) => void;
}

/** Build the proxy from environment variables, reading SSM and Secrets Manager when they are named. */
export async function createSearchProxyFromEnv(rawEnv: NodeJS.ProcessEnv, opts: RuntimeOptions): Promise<SearchProxyRuntime> {
  const parsed = envSchema.safeParse(rawEnv);
  if (!parsed.success) throw new Error(`search proxy: bad environment: ${formatZodError(parsed.error)}`);
  const env = parsed.data;
  if (env.BREAKER_STATE_TABLE && env.BREAKER_STATE_REDIS_URL) throw new Error('search proxy: set BREAKER_STATE_TABLE or BREAKER_STATE_REDIS_URL, not both');

  const needsSsm = env.PRIMARY_URL_PARAMETER || env.FALLBACK_URL_PARAMETER || env.BREAKER_SWITCH_PARAMETER;
  const ssm = needsSsm ? new SSMClient({}) : undefined;
  const parameter = async (name: string): Promise<string> => {
    const r = await ssm!.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
    const v = r.Parameter?.Value;
    if (!v) throw new Error(`search proxy: SSM parameter ${name} has no value`);
    return v.trim();
  };

  let credentials: unknown = env.BACKEND_CREDENTIALS;
  if (env.BACKEND_CREDENTIALS_SECRET) {
    const sm = new SecretsManagerClient({});
    try {
      const r = await sm.send(new GetSecretValueCommand({ SecretId: env.BACKEND_CREDENTIALS_SECRET }));
      if (!r.SecretString) throw new Error(`search proxy: secret ${env.BACKEND_CREDENTIALS_SECRET} has no string value`);
      credentials = JSON.parse(r.SecretString);
    } catch (e) {
      // Never echo the secret: only what failed.
      throw new Error(`search proxy: cannot use secret ${env.BACKEND_CREDENTIALS_SECRET}: ${e instanceof SyntaxError ? 'not JSON' : (e as Error).message}`);
    } finally {
      sm.destroy();
    }
  }
  const creds = credentialsSchema.safeParse(credentials ?? {});
  if (!creds.success) throw new Error(`search proxy: backend credentials have the wrong shape: ${formatZodError(creds.error)}`);

  const backendConfig = async (config: unknown, urlParameter: string | undefined) =>
    urlParameter ? { ...(config as Record<string, unknown>), url: await parameter(urlParameter) } : config;
  const primary = httpVectorBackend('primary', await backendConfig(env.PRIMARY_BACKEND, env.PRIMARY_URL_PARAMETER), creds.data.primary);
  const fallback = httpVectorBackend('fallback', await backendConfig(env.FALLBACK_BACKEND, env.FALLBACK_URL_PARAMETER), creds.data.fallback);

  let stateStore: BreakerStateStore | undefined;
  if (env.BREAKER_STATE_TABLE) stateStore = new DynamoBreakerStateStore({ tableName: env.BREAKER_STATE_TABLE });
  if (env.BREAKER_STATE_REDIS_URL) {
    // Left out of the AWS Lambda bundle (esbuild define; the AWS stack shares state through DynamoDB): if/else so the driver is dropped.
    if (process.env.MM_BUNDLE_OMIT_REDIS === 'true') throw new Error('search proxy: BREAKER_STATE_REDIS_URL: Redis breaker state is not part of this AWS Lambda bundle; on AWS the breakers share state through DynamoDB (SearchProxy sharedState)');
    else {
      const { RedisBreakerStateStore } = require('../lib/adapters/redis/breaker-state') as typeof import('../lib/adapters/redis/breaker-state');
      stateStore = await RedisBreakerStateStore.connect(env.BREAKER_STATE_REDIS_URL);
    }
  }
  // Each breaker reads the switch every BREAKER_SWITCH_TTL_MS; the adapter's short cache lets the two
  // breakers, which read at the same moment, share one GetParameter.
  const operatorSwitch = env.BREAKER_SWITCH_PARAMETER ? new SsmOperatorSwitch({ parameterName: env.BREAKER_SWITCH_PARAMETER, client: ssm, ttlMs: 1000 }) : undefined;

  const settings = { ...((env.SEARCH_PROXY_SETTINGS as Record<string, unknown> | undefined) ?? {}), ...(env.SEARCH_PROXY_MODE ? { mode: env.SEARCH_PROXY_MODE } : {}) };
  const proxy = searchProxy({
    primary,
    fallback,
    settings,
    stateStore,
    operatorSwitch,
    breaker: { switchRefreshMs: env.BREAKER_SWITCH_TTL_MS },
    metrics: opts.metrics,
    metricsText: opts.metricsText,
    awaitShadow: opts.lambda,
    awaitSync: opts.lambda,
    onError: opts.onError,
  });
  if (operatorSwitch || stateStore) await Promise.all(Object.values(proxy.breakers).map((b) => b.sync(true)));
  return {
    proxy,
    handler: proxy.handler,
    close: async () => {
      await proxy.drain();
      primary.close();
      fallback.close();
      await stateStore?.close();
      ssm?.destroy();
    },
  };
}

/** For Cloud Run (lambda/cloud-run.ts `adapter: 'http'`, export `createHttpHandler`) or any serveHttp: Prometheus at /metrics. */
export async function createHttpHandler(): Promise<HttpHandler> {
  const prom = new PrometheusSink();
  const rt = await createSearchProxyFromEnv(process.env, {
    metrics: prom,
    metricsText: () => prom.text(),
    lambda: false,
    onError: (context, e) => process.stderr.write(`${JSON.stringify({ severity: 'ERROR', message: `search proxy: ${context}: ${(e as Error)?.message ?? String(e)}` })}\n`),
  });
  return rt.handler;
}

// ---- Lambda ----------------------------------------------------------------------------------------------

const sink = new EmfMetricsSink(metrics);
let runtime: Promise<SearchProxyRuntime> | null = null;

/** Built on the first invocation (it reads SSM / Secrets Manager); a failed start is retried next time. */
function lambdaRuntime(): Promise<SearchProxyRuntime> {
  runtime ??= createSearchProxyFromEnv(process.env, {
    metrics: sink,
    lambda: true,
    onError: (context, e) => logger.error(`search proxy: ${context}`, e as Error),
  }).catch((e: unknown) => {
    runtime = null;
    throw e;
  });
  return runtime;
}

export async function handler(event: APIGatewayProxyEventV2, context?: Context): Promise<APIGatewayProxyResultV2> {
  markInvocation();
  if (context) logger.addContext(context);
  let rt: SearchProxyRuntime;
  try {
    rt = await lambdaRuntime();
  } catch (e) {
    logger.error('search proxy could not start', e as Error);
    metrics.publishStoredMetrics();
    return toApiGatewayResult(json(500, { error: { code: 'misconfigured', message: (e as Error).message } }));
  }
  try {
    return toApiGatewayResult(await rt.handler(toHttpRequest(event)));
  } finally {
    rt.proxy.recordStates();
    sink.flush();
    metrics.publishStoredMetrics();
  }
}
