/** Cloud Run shell of scheduled validation (Cloud Scheduler POST → lib/compose/validate). */
import { composeValidation } from '../lib/compose/validate';
import { cloudRunTracing } from '../lib/compose/tracing-cloud-run';

cloudRunTracing(process.env, 'validate');

export const handler = async () => (await composeValidation(process.env, 'cloud-run')).http;
