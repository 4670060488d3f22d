import { COMPARISON_SYMBOL, breaches, dimensionLabel } from '../metrics/alarm-meaning';
import { METRICS, prometheusKind, type AlarmSpec, type Comparison, type Dimension, type MetricName, type MetricSpec, type Statistic } from '../metrics/spec';

/** `ViolationType` → `violation_type`: a spec dimension as a Prometheus label. */
export const promLabel = (d: Dimension): string => dimensionLabel(d);

/** Spec values are in the spec's unit; Prometheus names are in base units (ms → s for `_seconds`, % → ratio for `_ratio`). */
export function toPrometheusValue(spec: MetricSpec, value: number): number {
  if (spec.unit === 'Milliseconds' && spec.prometheus?.endsWith('_seconds')) return value / 1000;
  if (spec.unit === 'Percent' && spec.prometheus?.endsWith('_ratio')) return value / 100;
  return value;
}

/** The Prometheus name of a spec metric, or an error naming what Prometheus has instead. */
export function promName(metric: MetricName): string {
  const name = METRICS[metric].prometheus;
  if (name === null) throw new Error(`metric ${metric} is not rendered in Prometheus: ${METRICS[metric].help}`);
  return name;
}

/**
 * A spec condition (`Maximum of BreakerState gte 2`) in PromQL. A state metric is one series per state, so
 * "value >= 2" becomes "one of the states numbered 2 and up is 1": `max(...{state=~"open"}) >= 1`.
 */
export function conditionExpr(c: { metric: MetricName; statistic: Statistic; comparison: Comparison; threshold: number }, agg: Aggregation): { value: string; expr: string; threshold: number } {
  const spec = METRICS[c.metric];
  if (spec.states) {
    const bad = spec.states.filter((_, i) => breaches(c.comparison, i, c.threshold));
    const matchers = [agg.matchers, `state=~"${bad.join('|')}"`].filter(Boolean).join(', ');
    const value = statisticExpr(c.metric, 'Maximum', { ...agg, matchers });
    return { value, expr: `${value} >= 1`, threshold: 1 };
  }
  const value = statisticExpr(c.metric, c.statistic, agg);
  const threshold = toPrometheusValue(spec, c.threshold);
  return { value, expr: `${value} ${COMPARISON_SYMBOL[c.comparison]} ${Number(threshold.toPrecision(12))}`, threshold };
}

/** The spec comparison as a PromQL operator (the one table: lib/core/metrics/alarm-meaning.ts). */
export const PROM_OP: Record<Comparison, string> = COMPARISON_SYMBOL;

/** 300 → `5m`, 93600 → `26h`, 90 → `90s`. */
export function promDuration(seconds: number): string {
  if (seconds > 0 && seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds > 0 && seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}

const QUANTILE: Partial<Record<Statistic, number>> = { p50: 0.5, p95: 0.95, p99: 0.99 };

export interface Aggregation {
  /** Labels kept in the result (`sum by (...)`). */
  by: string[];
  /** Range of the range vectors: `5m`, or a Grafana variable like `$__rate_interval`. */
  range: string;
  /** Extra label matchers, e.g. `migration_id=~"$migration"` in dashboards. */
  matchers?: string;
}

/**
 * One spec metric reduced the way a CloudWatch statistic reduces it over a period:
 * counters by their increase, gauges by `*_over_time`, histograms by `histogram_quantile` on bucket rates.
 */
export function statisticExpr(metric: MetricName, statistic: Statistic, agg: Aggregation): string {
  const spec = METRICS[metric];
  const name = promName(metric);
  const kind = prometheusKind(spec);
  const r = `[${agg.range}]`;
  const sel = (n: string) => `${n}${agg.matchers ? `{${agg.matchers}}` : ''}`;
  const by = (labels: string[]) => (labels.length ? ` by (${labels.join(', ')})` : '');
  const q = QUANTILE[statistic];
  if (kind === 'counter') return `sum${by(agg.by)} (increase(${sel(name)}${r}))`;
  if (kind === 'gauge') {
    switch (statistic) {
      case 'Maximum':
        return `max${by(agg.by)} (max_over_time(${sel(name)}${r}))`;
      case 'Minimum':
        return `min${by(agg.by)} (min_over_time(${sel(name)}${r}))`;
      case 'Sum':
        return `sum${by(agg.by)} (sum_over_time(${sel(name)}${r}))`;
      case 'SampleCount':
        return `sum${by(agg.by)} (count_over_time(${sel(name)}${r}))`;
      case 'Average':
        return `avg${by(agg.by)} (avg_over_time(${sel(name)}${r}))`;
      default:
        return `max${by(agg.by)} (quantile_over_time(${q}, ${sel(name)}${r}))`;
    }
  }
  switch (statistic) {
    case 'Sum':
      return `sum${by(agg.by)} (increase(${sel(`${name}_sum`)}${r}))`;
    case 'SampleCount':
      return `sum${by(agg.by)} (increase(${sel(`${name}_count`)}${r}))`;
    case 'Average':
      return `sum${by(agg.by)} (rate(${sel(`${name}_sum`)}${r})) / sum${by(agg.by)} (rate(${sel(`${name}_count`)}${r}))`;
    case 'Maximum':
    case 'Minimum':
      return `histogram_quantile(${statistic === 'Maximum' ? 1 : 0}, sum by (${['le', ...agg.by].join(', ')}) (rate(${sel(`${name}_bucket`)}${r})))`;
    default:
      return `histogram_quantile(${q}, sum by (${['le', ...agg.by].join(', ')}) (rate(${sel(`${name}_bucket`)}${r})))`;
  }
}

/** The series whose presence says "this metric reports at all" (for silence-is-breaching alarms). */
export function presenceSeries(metric: MetricName): string {
  return prometheusKind(METRICS[metric]) === 'histogram' ? `${promName(metric)}_count` : promName(metric);
}

/** Labels an alarm's alerts carry: the metric's dimensions. */
export const alarmLabels = (a: Pick<AlarmSpec, 'metric'>): string[] => METRICS[a.metric].dimensions.map(promLabel);
