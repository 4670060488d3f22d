import { collectDefaultMetrics, Counter, Gauge, Histogram } from 'prom-client';
import type { AnsweredRequest } from '../../core/http';
import { SERVER_METRICS } from '../../core/metrics/spec';
import { SECONDS_BUCKETS, type PrometheusSink } from './sink';

/** What `migration_build_info` says: the package version, the git revision and the Node.js runtime. */
export interface BuildInfo {
  version: string;
  revision: string;
  runtime: string;
}

/**
 * The metrics of a server itself, on the registry its /metrics renders: `migration_build_info`, the standard
 * process and Node.js metrics (prom-client's defaults: `process_cpu_seconds_total`,
 * `process_resident_memory_bytes`, `process_start_time_seconds`, `nodejs_heap_size_used_bytes`...), and
 * HTTP request counts and durations by method, route template and status code. Returns the observer to
 * hand to `serveHttp({ observe })`.
 */
export function instrumentServer(sink: PrometheusSink, build: BuildInfo): (r: AnsweredRequest) => void {
  const registers = [sink.registry];
  const spec = SERVER_METRICS;
  new Gauge({ name: spec.BuildInfo.prometheus, help: spec.BuildInfo.help, labelNames: [...spec.BuildInfo.labels], registers }).set({ ...build }, 1);
  collectDefaultMetrics({ register: sink.registry });
  // prom-client also sums its per-type handle/request/resource gauges into gauges named `*_total`, which the
  // naming guide keeps for counters (`promtool check metrics` flags them); the per-type gauges stay.
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) sink.registry.removeSingleMetric(name);
  const requests = new Counter({ name: spec.HttpRequests.prometheus, help: spec.HttpRequests.help, labelNames: [...spec.HttpRequests.labels], registers });
  const duration = new Histogram({
    name: spec.HttpRequestDuration.prometheus,
    help: spec.HttpRequestDuration.help,
    labelNames: [...spec.HttpRequestDuration.labels],
    buckets: SECONDS_BUCKETS,
    registers,
  });
  return (r) => {
    requests.inc({ method: r.method, route: r.route, code: String(r.status) });
    duration.observe({ method: r.method, route: r.route }, r.seconds);
  };
}
