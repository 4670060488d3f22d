import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { specLabels, type Observation, type ObservationSink } from '../../core/metrics/observation';
import { METRICS, prometheusKind, type Dimension, type MetricName, type MetricSpec } from '../../core/metrics/spec';
import { toPrometheusValue } from '../../core/render/promql';

/** Latency buckets in seconds (Prometheus base unit), from 0.5 ms to 10 s. */
export const SECONDS_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** `ToState` → `to_state`. */
export const labelName = (d: Dimension): string => d.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();

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
    // Not a Prometheus metric (PhaseDuration: Prometheus has the phase start and end timestamps instead).
    if (spec.prometheus === null) return;
    const labels = Object.fromEntries(Object.entries(specLabels(o)).map(([d, v]) => [labelName(d as Dimension), v]));
    const value = toPrometheusValue(spec, o.value);
    const inst = this.instrument(o.metric, spec, spec.prometheus);
    if (spec.states && inst instanceof Gauge) {
      // A state as a label set: 1 on the current state's series, 0 on the others.
      if (!spec.states[value]) throw new Error(`metric ${o.metric}: ${value} is not a state (0..${spec.states.length - 1})`);
      spec.states.forEach((state, i) => inst.set({ ...labels, state }, i === value ? 1 : 0));
    } else if (inst instanceof Histogram) {
      inst.observe(labels, value);
    } else if (inst instanceof Gauge) {
      if (o.mode === 'add') inst.inc(labels, value);
      else inst.set(labels, value);
    } else if (o.mode === 'set') {
      // A cumulative counter reported as its running total: add what is new (a restart starts again at 0).
      const key = `${o.metric}|${JSON.stringify(labels)}`;
      const last = this.cumulative.get(key) ?? 0;
      // inc by 0 still creates the series, so a total of 0 is rendered (and `increase()` sees the first bytes).
      inst.inc(labels, value > last ? value - last : 0);
      this.cumulative.set(key, value);
    } else {
      inst.inc(labels, value);
    }
  }

  private instrument(name: MetricName, spec: MetricSpec, promName: string): Instrument {
    let inst = this.instruments.get(name);
    if (inst) return inst;
    const labelNames = [...spec.dimensions.map(labelName), ...(spec.states ? ['state'] : [])];
    const base = { name: promName, help: spec.help, labelNames, registers: [this.registry] };
    const kind = prometheusKind(spec);
    inst =
      kind === 'counter'
        ? new Counter(base)
        : kind === 'gauge'
          ? new Gauge(base)
          : new Histogram(promName.endsWith('_seconds') ? { ...base, buckets: SECONDS_BUCKETS } : base);
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
