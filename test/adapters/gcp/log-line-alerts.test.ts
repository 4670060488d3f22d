import { LogLineMetrics } from '../../../lib/adapters/gcp/log-line-metrics';
import { alertSignalOf } from '../../../lib/core/alerts/signals';
import { alertLineFilter } from '../../../lib/constructs/gcp/alerting';
import { cloudRunEntry, matchesFilter } from '../../support/cloud-logging-filter';

describe('structured alert lines (GCP)', () => {
  const run = (record: (m: LogLineMetrics) => void) => {
    const lines: string[] = [];
    const m = new LogLineMetrics({ write: (l) => void lines.push(l.trimEnd()) });
    record(m);
    return lines.map((l) => JSON.parse(l) as Record<string, any>);
  };

  it('writes one alert line after the metric line of an alerting event, and none for anything else', () => {
    const out = run((m) => {
      m.record({ metric: 'BreakerTransitions', labels: { Breaker: 'primary', ToState: 'open' }, value: 1, mode: 'add' });
      m.record({ metric: 'BreakerTransitions', labels: { Breaker: 'primary', ToState: 'half_open' }, value: 1, mode: 'add' });
      m.record({ metric: 'BreakerState', labels: { Breaker: 'primary' }, value: 2, mode: 'set' });
      m.record({ metric: 'ValidationFailed', labels: {}, value: 0, mode: 'add' }); // a passing run
      m.record({ metric: 'ReportDeliveryFailures', labels: { Channel: 'slack' }, value: 1, mode: 'add' });
    });
    const alerts = out.filter((l) => l['alert']);
    expect(alerts).toEqual([
      { severity: 'CRITICAL', message: 'ALERT critical: Search circuit breaker open: breaker primary opened: searches are served by the fallback (degraded)', alert: { id: 'breaker-open', severity: 'critical', title: 'Search circuit breaker open', detail: 'breaker primary opened: searches are served by the fallback (degraded)' } },
      { severity: 'ERROR', message: 'ALERT error: Status report could not be delivered: delivery to slack failed (the scheduler retries the run)', alert: { id: 'report-undelivered', severity: 'error', title: 'Status report could not be delivered', detail: 'delivery to slack failed (the scheduler retries the run)' } },
    ]);
    expect(out).toHaveLength(4 + 2); // four metric lines (the zero counter prints nothing), two alert lines
  });

  it('is selected by the policy filter of its own severity only', () => {
    const [line] = run((m) => m.record({ metric: 'ValidationFailed', labels: {}, value: 1, mode: 'add' })).filter((l) => l['alert']);
    const entry = cloudRunEntry('mm-prod-validate', JSON.stringify(line))!;
    expect(matchesFilter(alertLineFilter(['mm-prod-validate'], 'error'), entry)).toBe(true);
    expect(matchesFilter(alertLineFilter(['mm-prod-validate'], 'critical'), entry)).toBe(false);
    expect(matchesFilter(alertLineFilter(['mm-prod-report'], 'error'), entry)).toBe(false); // another service's policy
  });

  it('signals only events: counters above zero, a breaker moving to open', () => {
    expect(alertSignalOf({ metric: 'ValidationFailed', labels: {}, value: 1, mode: 'add' })?.severity).toBe('error');
    expect(alertSignalOf({ metric: 'BreakerTransitions', labels: { Breaker: 'b', ToState: 'closed' }, value: 1, mode: 'add' })).toBeNull();
    expect(alertSignalOf({ metric: 'HandlerErrors', labels: { Handler: 'report' }, value: 1, mode: 'add' })).toBeNull();
  });
});
