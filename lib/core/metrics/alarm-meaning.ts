import type { AlarmSpec, Comparison, MetricName, Statistic } from './spec';

/**
 * What a spec alarm means, computed once for every renderer (CloudWatch, Cloud Monitoring, Prometheus rules,
 * Grafana): its comparison, its evaluation window, its name and description. Renderers translate these into
 * their own vocabulary; none of them re-derives them.
 */

/** `gt` → `>`: the comparison as an operator (PromQL, log filters, descriptions). */
export const COMPARISON_SYMBOL: Record<Comparison, string> = { gt: '>', gte: '>=', lt: '<', lte: '<=' };

/** Whether a value above the threshold is the bad side. */
export const isUpward = (c: Comparison): boolean => c === 'gt' || c === 'gte';

/** Does `value` breach `comparison threshold`? */
export function breaches(c: Comparison, value: number, threshold: number): boolean {
  switch (c) {
    case 'gt':
      return value > threshold;
    case 'gte':
      return value >= threshold;
    case 'lt':
      return value < threshold;
    case 'lte':
      return value <= threshold;
  }
}

/** A value that breaches (or, with `false`, does not breach) `comparison threshold`: fills gaps in expressions. */
export const valueThat = (breaching: boolean, c: Comparison, t: number): number => (isUpward(c) === breaching ? t + 1 : t - 1);

/** An alarm on silence: a counter summed below a threshold (no reports, no progress). */
export const isAbsence = (a: Pick<AlarmSpec, 'statistic' | 'comparison'>): boolean => a.statistic === 'Sum' && !isUpward(a.comparison);

/**
 * CloudWatch's "datapointsToAlarm of evaluationPeriods periods of P seconds" as one range and a hold time,
 * the form range-based systems (Cloud Monitoring, Prometheus) use: an absence alarm looks at the whole window
 * at once (nothing in N periods); any other alarm looks at one period, held for (datapointsToAlarm - 1) periods.
 */
export function evaluationWindow(a: Pick<AlarmSpec, 'periodSeconds' | 'evaluationPeriods' | 'datapointsToAlarm' | 'statistic' | 'comparison'>): {
  rangeSeconds: number;
  holdSeconds: number;
} {
  return isAbsence(a)
    ? { rangeSeconds: a.periodSeconds * a.evaluationPeriods, holdSeconds: 0 }
    : { rangeSeconds: a.periodSeconds, holdSeconds: a.periodSeconds * (a.datapointsToAlarm - 1) };
}

/** `Maximum of ErrorRate gt 10 over 300s`: a condition in words, for descriptions and condition names. */
export const describeCondition = (c: { metric: MetricName; statistic: Statistic; comparison: Comparison; threshold: number }, periodSeconds: number): string =>
  `${c.statistic} of ${c.metric} ${c.comparison} ${c.threshold} over ${periodSeconds}s`;

/**
 * A spec dimension as a metric label, for every system that wants snake_case (Prometheus, Cloud Logging
 * metric labels): `ViolationType` → `violation_type`, `S3Bucket` → `s3_bucket`.
 */
export const dimensionLabel = (dimension: string): string => dimension.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();

/** The physical name of a spec alarm: `<prefix>-<alarm id>` (the prefix carries stack and environment). */
export const specAlarmName = (prefix: string, id: string): string => `${prefix}-${id}`;

/** The spec alarm's description: severity, meaning and runbook (CloudWatch allows 1024 characters). */
export const specAlarmDescription = (a: Pick<AlarmSpec, 'severity' | 'title' | 'runbook'>): string => `[${a.severity}] ${a.title}. Runbook: ${a.runbook}`.slice(0, 1024);
