/**
 * Where a runtime's metrics go, decided once: EMF documents through Powertools on Lambda (CloudWatch reads
 * them), JSON log lines on Cloud Run in the shape the log-based metrics select (LogLineMetrics), a Prometheus
 * registry locally (served at /metrics). Every feature records spec observations on what this returns.
 */
import type { PrometheusSink } from '../adapters/prometheus/sink';
import type { ObservationSink } from '../core/metrics/observation';
import type { ReportMetrics } from '../core/report/ports';

export type Runtime = 'lambda' | 'cloud-run' | 'local';

export interface RuntimeMetrics extends ObservationSink {
  /** Write what is buffered (EMF: once per invocation). */
  flush(): void;
  /** The Prometheus text exposition (local only). */
  text?: () => Promise<string>;
}

export function metricsFor(runtime: 'local'): PrometheusSink;
export function metricsFor(runtime: Runtime): RuntimeMetrics;
export function metricsFor(runtime: Runtime): RuntimeMetrics {
  switch (runtime) {
    case 'lambda': {
      const { EmfMetricsSink } = require('../adapters/aws/emf-metrics') as typeof import('../adapters/aws/emf-metrics');
      const { metrics } = require('../adapters/aws/powertools') as typeof import('../adapters/aws/powertools');
      return new EmfMetricsSink(metrics);
    }
    case 'cloud-run': {
      // Left out of the Lambda bundles (esbuild define), with the alert signals and the alarm runbooks it carries.
      if (process.env.MM_BUNDLE_OMIT_GCP === 'true') throw new Error('Cloud Run log-line metrics are not part of this Lambda bundle');
      else {
        const { LogLineMetrics } = require('../adapters/gcp/log-line-metrics') as typeof import('../adapters/gcp/log-line-metrics');
        return new LogLineMetrics();
      }
    }
    case 'local': {
      // Left out of the Lambda bundles (esbuild define): they never serve /metrics.
      if (process.env.MM_BUNDLE_OMIT_PROMETHEUS === 'true') throw new Error('Prometheus metrics are not part of this Lambda bundle');
      else {
        const { PrometheusSink } = require('../adapters/prometheus/sink') as typeof import('../adapters/prometheus/sink');
        return new PrometheusSink();
      }
    }
  }
}

/** The report runner's counter calls as spec observations (the `{service}` rollup is the sink's business). */
export function reportMetrics(sink: RuntimeMetrics): ReportMetrics {
  return {
    count(metric, channel, value = 1) {
      sink.record({ metric, labels: { Channel: channel }, value, mode: 'add' });
      sink.flush();
    },
  };
}
