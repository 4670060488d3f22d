import { metadataAccessToken } from '../adapters/gcp/metadata-token';
import { setTraceProject } from '../adapters/gcp/log-line-metrics';
import type { Tracer } from '../core/tracing';
import { parseEnv } from './env';
import { installTracing, tracingEnvSchema } from './tracing';

/**
 * Tracing of a Cloud Run handler: the exporter when OTEL_* says so (Cloud Trace's OTLP endpoint
 * https://telemetry.googleapis.com takes the service account's OAuth token from the metadata server), and, when
 * GOOGLE_CLOUD_PROJECT is set, `logging.googleapis.com/trace` on the log lines (the access line always; every
 * line while a span is active). Kept apart from lib/compose/tracing.ts so Lambda bundles do not carry it.
 */
export function cloudRunTracing(env: NodeJS.ProcessEnv, service: string): Tracer {
  const t = installTracing(env, 'cloud-run', service, {
    onError: (m) => void process.stdout.write(`${JSON.stringify({ severity: 'WARNING', message: m })}\n`),
    auth: (url) => (/^https:\/\/telemetry\.googleapis\.com\//.test(url) ? async () => ({ authorization: `Bearer ${await metadataAccessToken()}` }) : undefined),
  });
  setTraceProject(parseEnv(tracingEnvSchema, env, service).GOOGLE_CLOUD_PROJECT);
  return t;
}
