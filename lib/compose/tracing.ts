/**
 * The one place that decides whether spans are recorded and where they go, from the standard OpenTelemetry
 * variables (or the CLI's `--otlp-endpoint`). Off by default: without an endpoint the no-op tracer stays
 * installed and nothing else of tracing is loaded. See docs/tracing.md.
 */
import * as z from '../core/zod';
import { NOOP_TRACER, setTracer, tracer, withSpan, type Tracer } from '../core/tracing';
import { EnvError, envFlag, parseEnv } from './env';

export type TracingRuntime = 'local' | 'lambda' | 'cloud-run';

const SAMPLERS = ['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'] as const;

/** `k=v,k2=v2` (values URL-encoded), the format of OTEL_EXPORTER_OTLP_HEADERS and OTEL_RESOURCE_ATTRIBUTES. */
const envPairs = z.pipe(z.string(), z.transform((s, ctx) => {
  const out: Record<string, string> = {};
  for (const part of s.split(',').map((p) => p.trim()).filter(Boolean)) {
    const i = part.indexOf('=');
    if (i <= 0) {
      ctx.issues.push({ code: 'custom', message: `"${part.slice(0, 40)}" is not key=value`, input: s });
      return z.NEVER;
    }
    try {
      out[part.slice(0, i).trim()] = decodeURIComponent(part.slice(i + 1).trim());
    } catch {
      ctx.issues.push({ code: 'custom', message: `the value of "${part.slice(0, i)}" is not URL-encoded correctly`, input: s });
      return z.NEVER;
    }
  }
  return out;
}));

const PROTOCOLS = ['http/protobuf', 'http/json'] as const;
const PROTOCOL_MESSAGE = 'only http/protobuf (the default) and http/json are supported (the exporter is OTLP/HTTP); unset it or set one of them';

const positiveInt = z.coerce.number().check(z.int(), z.positive());

export const tracingEnvSchema = z.object({
  OTEL_SDK_DISABLED: z._default(envFlag, false),
  OTEL_TRACES_EXPORTER: z.optional(z.enum(['otlp', 'none'])),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.optional(z.url()),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.optional(z.url()),
  OTEL_EXPORTER_OTLP_PROTOCOL: z.optional(z.enum(PROTOCOLS, { message: PROTOCOL_MESSAGE })),
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: z.optional(z.enum(PROTOCOLS, { message: PROTOCOL_MESSAGE })),
  OTEL_EXPORTER_OTLP_HEADERS: z.optional(envPairs),
  OTEL_EXPORTER_OTLP_TRACES_HEADERS: z.optional(envPairs),
  OTEL_EXPORTER_OTLP_TIMEOUT: z.optional(positiveInt),
  OTEL_TRACES_SAMPLER: z._default(z.enum(SAMPLERS), 'parentbased_always_on'),
  OTEL_TRACES_SAMPLER_ARG: z.optional(z.coerce.number().check(z.gte(0), z.lte(1))),
  OTEL_SERVICE_NAME: z.optional(z.string().check(z.minLength(1), z.maxLength(200))),
  OTEL_RESOURCE_ATTRIBUTES: z.optional(envPairs),
  OTEL_BSP_SCHEDULE_DELAY: z.optional(z.coerce.number().check(z.int(), z.gte(0))),
  OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: z._default(positiveInt, 4096),
  OTEL_BSP_MAX_QUEUE_SIZE: z._default(positiveInt, 2048),
  OTEL_BSP_MAX_EXPORT_BATCH_SIZE: z._default(positiveInt, 512),
  AWS_LAMBDA_FUNCTION_NAME: z.optional(z.string()),
  AWS_REGION: z.optional(z.string()),
  K_SERVICE: z.optional(z.string()),
  GOOGLE_CLOUD_PROJECT: z.optional(z.string()),
});

export interface TracingSettings {
  /** Full traces URL (…/v1/traces), or null when tracing is off. */
  url: string | null;
  headers: Record<string, string>;
  timeoutMs?: number;
  scheduledDelayMs?: number;
  /** OTEL_BSP_MAX_QUEUE_SIZE: spans that may wait to be exported (default 2048); more are dropped and said. */
  maxQueueSize: number;
  /** OTEL_BSP_MAX_EXPORT_BATCH_SIZE: spans per export request (default 512, at most the queue size). */
  maxBatchSize: number;
  /** OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT (default 4096): strings in attribute values are cut to it. */
  valueLimit: number;
  /** OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL: http/protobuf (default) or http/json. */
  encoding: 'protobuf' | 'json';
  sampler: { kind: 'always_on' | 'always_off' | 'ratio'; ratio: number; parentBased: boolean };
  resource: Record<string, string> & { 'service.name': string };
}

/** The settings from the environment; `endpoint` (the CLI's --otlp-endpoint) wins over OTEL_EXPORTER_OTLP_ENDPOINT. */
export function tracingSettings(env: NodeJS.ProcessEnv, runtime: TracingRuntime, service: string, endpoint?: string): TracingSettings {
  const e = parseEnv(tracingEnvSchema, endpoint === undefined ? env : { ...env, OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: undefined }, service);
  const base = e.OTEL_EXPORTER_OTLP_ENDPOINT ? `${e.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, '')}/v1/traces` : null;
  const [batch, queue] = [e.OTEL_BSP_MAX_EXPORT_BATCH_SIZE, e.OTEL_BSP_MAX_QUEUE_SIZE];
  if (batch > queue) throw new EnvError(`${service}: bad environment: OTEL_BSP_MAX_EXPORT_BATCH_SIZE (${batch}) > OTEL_BSP_MAX_QUEUE_SIZE (${queue})`);
  const url = e.OTEL_SDK_DISABLED || e.OTEL_TRACES_EXPORTER === 'none' ? null : (e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? base);
  const s = e.OTEL_TRACES_SAMPLER;
  const ratio = s.endsWith('traceidratio') ? (e.OTEL_TRACES_SAMPLER_ARG ?? 1) : s.endsWith('always_off') ? 0 : 1;
  const faas = runtime === 'lambda' ? e.AWS_LAMBDA_FUNCTION_NAME : runtime === 'cloud-run' ? e.K_SERVICE : undefined;
  return {
    url,
    headers: { ...e.OTEL_EXPORTER_OTLP_HEADERS, ...e.OTEL_EXPORTER_OTLP_TRACES_HEADERS },
    encoding: (e.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? e.OTEL_EXPORTER_OTLP_PROTOCOL) === 'http/json' ? 'json' : 'protobuf',
    ...(e.OTEL_EXPORTER_OTLP_TIMEOUT ? { timeoutMs: e.OTEL_EXPORTER_OTLP_TIMEOUT } : {}),
    ...(e.OTEL_BSP_SCHEDULE_DELAY !== undefined ? { scheduledDelayMs: e.OTEL_BSP_SCHEDULE_DELAY } : {}),
    maxQueueSize: queue,
    maxBatchSize: batch,
    valueLimit: e.OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT,
    sampler: { kind: ratio >= 1 ? 'always_on' : ratio <= 0 ? 'always_off' : 'ratio', ratio, parentBased: s.startsWith('parentbased_') },
    resource: {
      ...e.OTEL_RESOURCE_ATTRIBUTES,
      'service.name': e.OTEL_SERVICE_NAME ?? `migration-monitor-${service}`,
      'service.namespace': 'migration-monitor',
      ...(runtime === 'lambda' ? { 'cloud.provider': 'aws', 'cloud.platform': 'aws_lambda', ...(e.AWS_REGION ? { 'cloud.region': e.AWS_REGION } : {}) } : {}),
      ...(runtime === 'cloud-run' ? { 'cloud.provider': 'gcp', 'cloud.platform': 'gcp_cloud_run', ...(e.GOOGLE_CLOUD_PROJECT ? { 'cloud.account.id': e.GOOGLE_CLOUD_PROJECT } : {}) } : {}),
      ...(faas ? { 'faas.name': faas } : {}),
    },
  };
}

/** A tracer for the settings: the no-op one when off (the exporter and its tracer are not even loaded). */
export function tracerFrom(settings: TracingSettings, onError: (message: string) => void, auth?: () => Promise<Record<string, string>>): Tracer {
  if (!settings.url) return NOOP_TRACER;
  const { OtelTracer, ratioSampler } = require('../adapters/otel/tracer') as typeof import('../adapters/otel/tracer');
  const { OtlpHttpExporter } = require('../adapters/otel/otlp-http') as typeof import('../adapters/otel/otlp-http');
  const processor = new OtlpHttpExporter({
    url: settings.url,
    resource: settings.resource,
    headers: settings.headers,
    encoding: settings.encoding,
    ...(auth ? { auth } : {}),
    ...(settings.timeoutMs ? { timeoutMs: settings.timeoutMs } : {}),
    ...(settings.scheduledDelayMs !== undefined ? { scheduledDelayMs: settings.scheduledDelayMs } : {}),
    maxQueueSize: settings.maxQueueSize,
    maxBatchSize: settings.maxBatchSize,
    onError,
  });
  return new OtelTracer({ processor, sampler: ratioSampler(settings.sampler.ratio), parentBased: settings.sampler.parentBased, attributeValueLengthLimit: settings.valueLimit });
}

const stderrError = (m: string): void => void process.stderr.write(`${m}\n`);

/**
 * Install the process's tracer from the environment (once: a second call keeps the tracer the first one
 * installed, so the local server composing several parts gets one exporter). Returns the installed tracer.
 */
export function installTracing(
  env: NodeJS.ProcessEnv,
  runtime: TracingRuntime,
  service: string,
  o: { endpoint?: string; onError?: (message: string) => void; auth?: (url: string) => (() => Promise<Record<string, string>>) | undefined } = {},
): Tracer {
  if (tracer().enabled) return tracer();
  const settings = tracingSettings(env, runtime, service, o.endpoint);
  const t = tracerFrom(settings, o.onError ?? stderrError, settings.url ? o.auth?.(settings.url) : undefined);
  if (t.enabled) setTracer(t);
  return t;
}

/** `Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1` → a W3C traceparent. */
export function xrayToTraceparent(header: string | undefined): string | undefined {
  const m = /Root=1-([0-9a-f]{8})-([0-9a-f]{24});Parent=([0-9a-f]{16});Sampled=([01])/i.exec(header ?? '');
  return m ? `00-${m[1]}${m[2]}-${m[3]}-0${m[4]}`.toLowerCase() : undefined;
}

interface LambdaContextLike {
  awsRequestId?: string;
  functionName?: string;
}

/** What a Lambda shell logs with (Powertools' Logger fits): its lines get the span's ids; the exporter warns through it. */
export interface LambdaLog {
  appendKeys(keys: Record<string, string>): void;
  warn(message: string): void;
}

/**
 * A Lambda handler in a span per invocation, flushed before it returns (the sandbox freezes after). The span
 * continues the request's `traceparent` (an HTTP API event), else the invocation's X-Ray trace
 * (`_X_AMZN_TRACE_ID`, so spans join the Lambda's own segments), else starts a trace: a scheduled run is a root.
 * Every line `log` writes during the invocation carries the span's `trace_id` and `span_id` (Powertools adds
 * `xray_trace_id` by itself, tracing on or off), and a collector that is down is reported through `log` as one
 * JSON warning with those ids, not as a bare stderr line. Off: `fn` itself.
 */
export function lambdaTraced<F extends (event: never, context?: never) => Promise<unknown>>(env: NodeJS.ProcessEnv, service: string, fn: F, log: LambdaLog): F {
  const t = installTracing(env, 'lambda', service, { onError: (m) => log.warn(m) });
  if (!t.enabled) return fn;
  const traced = async (event: unknown, context?: LambdaContextLike) => {
    const headers = (event as { headers?: Record<string, string | undefined> } | null)?.headers;
    const traceparent = headers?.['traceparent'] ?? xrayToTraceparent(env['_X_AMZN_TRACE_ID']);
    try {
      return await withSpan(
        headers ? `migration.${service}.request` : `migration.job.${service}`,
        { kind: 'server', traceparent, root: !traceparent, attributes: { 'faas.invocation_id': context?.awsRequestId, 'faas.trigger': headers ? 'http' : 'timer', 'migration.service': service } },
        (span) => {
          log.appendKeys({ trace_id: span.traceId, span_id: span.spanId });
          return fn(event as never, context as never);
        },
      );
    } finally {
      await t.flush();
    }
  };
  return traced as unknown as F;
}
