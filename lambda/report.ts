/**
 * Lambda shell of the daily status report (EventBridge Scheduler → lib/compose/report). Throws when a channel
 * failed, so the schedule retries (delivery is idempotent). Configuration: see lib/compose/report.ts.
 */
import type { Context } from 'aws-lambda';
import { invocationStarted, logger } from '../lib/adapters/aws/powertools';
import { composeReport, failedDeliveries } from '../lib/compose/report';
import type { RunSummary } from '../lib/core/report/runner';
import { lazyOnce } from '../lib/core/once';
import { lambdaTraced } from '../lib/compose/tracing';

/** In a span per invocation when tracing is on (lib/compose/tracing.ts); log lines carry its trace id. */
export const handler = lambdaTraced(process.env, 'report', handle, logger);

const report = lazyOnce(() => composeReport(process.env, 'lambda'));

async function handle(event: unknown, context?: Context): Promise<RunSummary> {
  invocationStarted(context);
  const summary = await (await report.get()).run(event);
  for (const r of summary.reports) logger.info('report', { migrationId: r.migrationId, reportId: r.reportId, ok: r.ok, results: r.results, error: r.error });
  if (!summary.ok) throw new Error(`report delivery failed: ${failedDeliveries(summary)}`);
  return summary;
}
