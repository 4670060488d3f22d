import type { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { specLabels, type Observation, type ObservationSink } from '../../core/metrics/observation';
import { METRICS, type Dimension } from '../../core/metrics/spec';

type PowertoolsUnit = (typeof MetricUnit)[keyof typeof MetricUnit];

/**
 * Writes spec metrics as CloudWatch EMF through Powertools Metrics. Each observation is emitted with two
 * dimension sets: the spec's own (per migration, phase, …) and a rollup with only Powertools' `service`
 * dimension, which the alarms read (CloudWatch alarms cannot aggregate across dimension values).
 * Observations are buffered; `flush()` writes one EMF document per distinct set of dimension values.
 */
export class EmfMetricsSink implements ObservationSink {
  private pending: Observation[] = [];
  constructor(private readonly metrics: Metrics) {}

  record(o: Observation): void {
    specLabels(o); // refuses an observation missing a dimension now, not at flush
    this.pending.push(o);
  }

  flush(): void {
    const groups = new Map<string, { dims: Record<string, string>; items: Observation[] }>();
    for (const o of this.pending) {
      const dims: Record<string, string> = {};
      for (const d of METRICS[o.metric].dimensions as Dimension[]) dims[d] = o.labels[d]!;
      const key = JSON.stringify(dims);
      const g = groups.get(key) ?? { dims, items: [] };
      g.items.push(o);
      groups.set(key, g);
    }
    this.pending = [];
    for (const { dims, items } of groups.values()) {
      if (Object.keys(dims).length) this.metrics.addDimensions(dims);
      this.metrics.addDimensions({});
      for (const o of items) this.metrics.addMetric(o.metric, METRICS[o.metric].unit as PowertoolsUnit, o.value);
      this.metrics.publishStoredMetrics();
    }
  }
}
