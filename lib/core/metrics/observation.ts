/** The metric port: what every part of the product records, and every runtime renders (EMF, log lines, Prometheus). */
import { METRICS, type Dimension, type MetricName } from './spec';

/** A metric observation by monitoring-spec name: add to a counter, set a gauge (or a cumulative counter), or observe a histogram. */
export interface Observation {
  metric: MetricName;
  labels: Partial<Record<Dimension, string>>;
  value: number;
  mode: 'add' | 'set' | 'observe';
}

/** Receives metric observations (Prometheus registry, EMF writer...). */
export interface ObservationSink {
  record(o: Observation): void;
}

/** The observation's values for every dimension its spec metric declares, or an error naming the one missing. */
export function specLabels(o: Observation): Record<Dimension, string> {
  const labels = {} as Record<Dimension, string>;
  for (const d of METRICS[o.metric].dimensions) {
    const v = o.labels[d];
    if (v === undefined) throw new Error(`metric ${o.metric} needs the ${d} dimension (has: ${Object.keys(o.labels).join(', ') || 'none'})`);
    labels[d] = v;
  }
  return labels;
}
