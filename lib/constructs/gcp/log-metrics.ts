import { Construct } from 'constructs';
import { COMPARISON_SYMBOL, dimensionLabel } from '../../core/metrics/alarm-meaning';
import { LoggingMetric } from '@cdktf/provider-google/lib/logging-metric';
import { METRICS, type Comparison, type MetricName, type MetricSpec } from '../../core/metrics/spec';
import type { GcpPlacement } from './common';

/**
 * The spec metrics as Cloud Logging log-based metrics. The handlers print one JSON line per datapoint with
 * the spec name as a top-level field and the dimensions beside it (the EMF line Powertools writes on AWS has
 * exactly that shape), and Cloud Run sends stdout JSON to Cloud Logging as `jsonPayload`. So the same code
 * emits CloudWatch metrics on Lambda and Cloud Monitoring metrics on Cloud Run, with no metrics client.
 *
 * - counters become DELTA INT64 metrics counting the lines whose value is > 0 (one line per event);
 * - gauges and histograms become DELTA DISTRIBUTION metrics of the value (percentile aligners read them);
 * - a threshold on a gauge's Maximum/Minimum becomes a counter of the lines that cross it (exact, where a
 *   percentile of a distribution would only approximate the maximum).
 */

/** A spec dimension as a Cloud Logging metric label: the same snake_case as the Prometheus labels (lib/core/metrics/alarm-meaning.ts). */
export const labelKey = (dimension: string): string => dimensionLabel(dimension);

const CMP: Record<Comparison, string> = COMPARISON_SYMBOL;

function buckets(spec: MetricSpec) {
  switch (spec.unit) {
    case 'Percent':
      return { linearBuckets: { numFiniteBuckets: 20, width: 5, offset: 0 } };
    case 'None':
    case 'Count':
      return { linearBuckets: { numFiniteBuckets: 20, width: 1, offset: 0 } };
    default:
      // milliseconds, seconds, bytes, bytes/s: 1, 2, 4 ... 2^39
      return { exponentialBuckets: { numFiniteBuckets: 40, growthFactor: 2, scale: 1 } };
  }
}

const UNIT: Record<string, string> = { Count: '1', Percent: '%', Bytes: 'By', 'Bytes/Second': 'By/s', Milliseconds: 'ms', Seconds: 's', None: '1' };

export interface LogMetricsProps {
  placement: GcpPlacement;
  /** Cloud Run service names whose logs carry the metrics. */
  services: string[];
}

export class LogMetrics extends Construct {
  private readonly created = new Map<string, LoggingMetric>();
  private readonly names = new Map<LoggingMetric, string>();
  readonly baseFilter: string;
  private readonly prefix: string;

  constructor(
    scope: Construct,
    id: string,
    private readonly props: LogMetricsProps,
  ) {
    super(scope, id);
    if (!props.services.length) throw new Error('log-based metrics need at least one service');
    this.prefix = props.placement.namePrefix.replace(/-/g, '_');
    this.baseFilter = `resource.type="cloud_run_revision" AND resource.labels.service_name=(${props.services.map((s) => JSON.stringify(s)).join(' OR ')})`;
  }

  /** Every metric created so far (for depends_on). */
  get all(): LoggingMetric[] {
    return [...this.created.values()];
  }

  /**
   * `metric.type` filter of a created metric. By reference (default) it makes the user depend on the metric,
   * which alert policies need (they are refused for a metric that does not exist yet); `plain` gives the
   * literal name, for JSON documents such as the dashboard (which then depends on this construct).
   */
  filterOf(m: LoggingMetric, plain = false, resourceType = 'cloud_run_revision'): string {
    const name = plain ? this.names.get(m) : m.name;
    if (!name) throw new Error('filterOf: not a metric of this construct');
    return `metric.type="logging.googleapis.com/user/${name}" AND resource.type="${resourceType}"`;
  }

  /** The log-based metric of a spec metric (created once). */
  metric(name: MetricName): LoggingMetric {
    const spec = METRICS[name];
    const counter = spec.kind === 'counter';
    // Named after the Prometheus name the metric had when log-based metrics were first deployed (renames in
    // Prometheus would otherwise replace deployed metrics and lose their history); the unit says % or ratio.
    return this.once(`${this.prefix}_${spec.formerPrometheus ?? spec.prometheus ?? spec.name}`, () => ({
      description: `${spec.help} (spec metric ${spec.name}; ${counter ? 'count of log lines with a value > 0' : 'distribution of the value'})`,
      filter: `${this.baseFilter} AND jsonPayload.${spec.name}${counter ? ' > 0' : ':*'}`,
      metricDescriptor: {
        metricKind: 'DELTA',
        valueType: counter ? 'INT64' : 'DISTRIBUTION',
        unit: counter ? '1' : UNIT[spec.unit],
        displayName: spec.name,
        labels: spec.dimensions.map((d) => ({ key: labelKey(d), valueType: 'STRING', description: d })),
      },
      labelExtractors: Object.fromEntries(spec.dimensions.map((d) => [labelKey(d), `EXTRACT(jsonPayload.${d})`])),
      ...(counter ? {} : { valueExtractor: `EXTRACT(jsonPayload.${spec.name})`, bucketOptions: buckets(spec) }),
    }));
  }

  /** A counter of the log lines where the metric crosses a threshold (`key` names it, e.g. the alarm id). */
  crossing(key: string, name: MetricName, comparison: Comparison, threshold: number): LoggingMetric {
    const spec = METRICS[name];
    return this.once(`${this.prefix}_alarm_${key.replace(/-/g, '_')}`, () => ({
      description: `Log lines where ${spec.name} ${CMP[comparison]} ${threshold}`,
      filter: `${this.baseFilter} AND jsonPayload.${spec.name} ${CMP[comparison]} ${threshold}`,
      metricDescriptor: { metricKind: 'DELTA', valueType: 'INT64', unit: '1', displayName: `${spec.name} ${CMP[comparison]} ${threshold}` },
    }));
  }

  /** A counter of arbitrary log lines (platform signals such as scheduler attempt failures). */
  custom(key: string, description: string, filter: string): LoggingMetric {
    return this.once(`${this.prefix}_${key.replace(/-/g, '_')}`, () => ({
      description,
      filter,
      metricDescriptor: { metricKind: 'DELTA', valueType: 'INT64', unit: '1', displayName: key },
    }));
  }

  private once(name: string, make: () => Omit<ConstructorParameters<typeof LoggingMetric>[2], 'name' | 'project'>): LoggingMetric {
    let m = this.created.get(name);
    if (!m) {
      if (name.length > 100) throw new Error(`log metric name "${name}" is longer than 100 characters`);
      m = new LoggingMetric(this, name, { ...make(), name, project: this.props.placement.project });
      this.created.set(name, m);
      this.names.set(m, name);
    }
    return m;
  }
}
