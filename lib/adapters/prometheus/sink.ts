import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { specLabels, type Observation, type ObservationSink } from '../../core/metrics/observation';
import { METRICS, type Dimension, type MetricName, type MetricSpec } from '../../core/metrics/spec';

/** Latency buckets in seconds (Prometheus base unit), from 0.5 ms to 10 s. */
export const SECONDS_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** `ToState` → `to_state`. */
export const labelName = (d: Dimension): string => d.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();

/**
 * Spec values are in the spec's unit (CloudWatch); Prometheus wants base units: milliseconds become
 * seconds for `_seconds` metrics and percentages become ratios for `_ratio` metrics.
 */
export function toPrometheusValue(spec: MetricSpec, value: number): number {
  if (spec.unit === 'Milliseconds' && spec.prometheus.endsWith('_seconds')) return value / 1000;
  if (spec.unit === 'Percent' && spec.prometheus.endsWith('_ratio')) return value / 100;
  return value;
}

type Instrument = Counter<string> | Gauge<string> | Histogram<string>;

/**
 * An ObservationSink that keeps a Prometheus registry of monitoring-spec metrics (names, help, types and
 * label names from the spec) and renders the text exposition format for GET /metrics.
 */
export class PrometheusSink implements ObservationSink {
  readonly registry = new Registry();
  private readonly instruments = new Map<MetricName, Instrument>();
  /** Last cumulative value per counter series, for `set` on a counter. */
  private readonly cumulative = new Map<string, number>();

  /** Nothing is buffered: a scrape reads the registry. */
  flush(): void {}

  record(o: Observation): void {
    const spec = METRICS[o.metric];
    const labels = Object.fromEntries(Object.entries(specLabels(o)).map(([d, v]) => [labelName(d as Dimension), v]));
    const value = toPrometheusValue(spec, o.value);
    const inst = this.instrument(o.metric, spec);
    if (inst instanceof Histogram) {
      inst.observe(labels, value);
    } else if (inst instanceof Gauge) {
      if (o.mode === 'add') inst.inc(labels, value);
      else inst.set(labels, value);
    } else if (o.mode === 'set') {
      // A cumulative counter reported as its running total: add what is new (a restart starts again at 0).
      const key = `${o.metric}|${JSON.stringify(labels)}`;
      const last = this.cumulative.get(key) ?? 0;
      if (value > last) inst.inc(labels, value - last);
      this.cumulative.set(key, value);
    } else {
      inst.inc(labels, value);
    }
  }

  private instrument(name: MetricName, spec: MetricSpec): Instrument {
    let inst = this.instruments.get(name);
    if (inst) return inst;
    const base = { name: spec.prometheus, help: spec.help, labelNames: spec.dimensions.map(labelName), registers: [this.registry] };
    inst =
      spec.kind === 'counter'
        ? new Counter(base)
        : spec.kind === 'gauge'
          ? new Gauge(base)
          : new Histogram(spec.prometheus.endsWith('_seconds') ? { ...base, buckets: SECONDS_BUCKETS } : base);
    this.instruments.set(name, inst);
    return inst;
  }

  /** The text exposition format. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
