/** Cloud Run shell of the daily report (Cloud Scheduler POST → lib/compose/report). */
import { composeReport } from '../lib/compose/report';
import { cloudRunTracing } from '../lib/compose/tracing-cloud-run';

cloudRunTracing(process.env, 'report');

export const handler = async () => (await composeReport(process.env, 'cloud-run')).http;
