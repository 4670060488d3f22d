/** Cloud Run shell of log ingest: the push endpoint of the Pub/Sub subscription a Cloud Logging sink feeds. */
import { logLine } from '../lib/adapters/gcp/log-line-metrics';
import { composeLogIngest } from '../lib/compose/log-ingest';
import { cloudRunTracing } from '../lib/compose/tracing-cloud-run';

cloudRunTracing(process.env, 'log-ingest');

export const handler = async () => (await composeLogIngest(process.env, 'cloud-run', logLine)).pubsub;
