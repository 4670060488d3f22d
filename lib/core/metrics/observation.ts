/** The metric port: what every part of the product records, and every runtime renders (EMF, log lines, Prometheus). */
import type { Dimension, MetricName } from './spec';

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
