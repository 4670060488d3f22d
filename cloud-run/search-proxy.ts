/** Cloud Run shell of the search proxy: metrics as the log lines the GCP alert policies read. */
import { logLine } from '../lib/adapters/gcp/log-line-metrics';
import { composeSearchProxy } from '../lib/compose/search-proxy';
import { cloudRunTracing } from '../lib/compose/tracing-cloud-run';

cloudRunTracing(process.env, 'search-proxy');

export const handler = async () =>
  (await composeSearchProxy(process.env, 'cloud-run', (context, e) => logLine('ERROR', `search proxy: ${context}: ${(e as Error)?.message ?? String(e)}`))).handler;
