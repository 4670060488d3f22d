import { labelKey } from '../../../lib/constructs/gcp/log-metrics';
import { breaches, dimensionLabel, evaluationWindow, valueThat } from '../../../lib/core/metrics/alarm-meaning';
import { ALARMS, METRICS } from '../../../lib/core/metrics/spec';
import { promLabel } from '../../../lib/core/render/promql';

describe('one meaning of a spec alarm', () => {
  it('one label name per dimension on every renderer (digits before a capital included)', () => {
    const dims = [...new Set(Object.values(METRICS).flatMap((m) => m.dimensions as readonly string[])), 'S3Bucket', 'Http2Status'];
    for (const d of dims) expect([d, labelKey(d)]).toEqual([d, promLabel(d as never)]);
    expect(dimensionLabel('S3Bucket')).toBe('s3_bucket');
    expect(dimensionLabel('ViolationType')).toBe('violation_type');
  });

  it('a fill value breaches exactly when asked to, for every comparison', () => {
    for (const c of ['gt', 'gte', 'lt', 'lte'] as const) {
      expect(breaches(c, valueThat(true, c, 10), 10)).toBe(true);
      expect(breaches(c, valueThat(false, c, 10), 10)).toBe(false);
    }
  });

  it('the evaluation window: absence alarms look at all periods at once, the others hold for the extra datapoints', () => {
    for (const a of ALARMS) {
      const w = evaluationWindow(a);
      if (a.statistic === 'Sum' && (a.comparison === 'lt' || a.comparison === 'lte')) expect(w).toEqual({ rangeSeconds: a.periodSeconds * a.evaluationPeriods, holdSeconds: 0 });
      else expect(w).toEqual({ rangeSeconds: a.periodSeconds, holdSeconds: a.periodSeconds * (a.datapointsToAlarm - 1) });
    }
  });
});
