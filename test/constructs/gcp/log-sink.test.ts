import { CloudRunHandler } from '../../../lib/constructs/gcp/cloud-run-handler';
import { LogSink, type LogSinkProps } from '../../../lib/constructs/gcp/log-sink';
import { only, placement, resources, synthJson } from './synth-helpers';

const FILTER = 'resource.type="cloud_run_job" AND resource.labels.job_name="tenant-migrator"';

function synth(extra: Partial<LogSinkProps> = {}) {
  return synthJson((s) => {
    const handler = new CloudRunHandler(s, 'log-ingest', {
      placement,
      purpose: 'log-ingest',
      entry: 'lambda/log-ingest.ts',
      exportName: 'pubsubHandler',
      adapter: 'http',
      image: 'europe-docker.pkg.dev/test-project/mm/log-ingest:1',
    });
    new LogSink(s, 'logs', { placement, handler, filter: FILTER, ...extra });
  });
}

describe('LogSink', () => {
  it('exports the jobs\' log entries that carry a well-known event to a Pub/Sub topic, publishing as the sink\'s own identity', () => {
    const json = synth();
    const sink = only(json, 'google_logging_project_sink');
    expect(sink['name']).toBe('mm-prod-migration-logs');
    expect(sink['unique_writer_identity']).toBe(true);
    expect(sink['destination']).toMatch(/^pubsub\.googleapis\.com\/\$\{google_pubsub_topic\.logs_topic_[A-Z0-9]+\.id\}$/);
    expect(sink['filter']).toBe(`(${FILTER}) AND ("Migration started" OR "Bulk copy progress" OR "Bulk copy complete" OR "Target write failed" OR "Cutover initiated" OR "Cutover timeout" OR "Consistency check failed" OR "Migration completed" OR "Migration failed")`);
    const publishers = resources(json, 'google_pubsub_topic_iam_member').filter(([, m]) => m['role'] === 'roles/pubsub.publisher');
    expect(publishers.map(([, m]) => m['member'])).toContainEqual(expect.stringMatching(/google_logging_project_sink\.logs_sink_[A-Z0-9]+\.writer_identity/));
  });

  it('pushes to the handler with an OIDC token of a dedicated account that may invoke only that service', () => {
    const json = synth({ pushPath: '/pubsub' });
    const sub = resources(json, 'google_pubsub_subscription').find(([, s]) => s['name'] === 'mm-prod-migration-logs-push')![1];
    expect(sub['push_config']).toEqual({
      push_endpoint: expect.stringMatching(/^\$\{google_cloud_run_v2_service\.log-ingest_service_[A-Z0-9]+\.uri\}\/pubsub$/),
      oidc_token: { service_account_email: expect.stringMatching(/google_service_account\.logs_push-sa_[A-Z0-9]+\.email/), audience: expect.stringMatching(/\.uri\}$/) },
    });
    expect(sub['retry_policy']).toEqual({ minimum_backoff: '10s', maximum_backoff: '600s' });
    expect(sub['dead_letter_policy']).toEqual({ dead_letter_topic: expect.stringMatching(/logs_dead-letter_/), max_delivery_attempts: 10 });
    expect(sub['expiration_policy']).toEqual({ ttl: '' });
    const pushSa = resources(json, 'google_service_account').find(([, a]) => a['account_id'] === 'mm-prod-log-push');
    expect(pushSa).toBeDefined();
    const invoker = only(json, 'google_cloud_run_v2_service_iam_member');
    expect(invoker).toMatchObject({ role: 'roles/run.invoker', member: expect.stringMatching(/^serviceAccount:\$\{google_service_account\.logs_push-sa_[A-Z0-9]+\.email\}$/) });
    // Never public.
    expect(JSON.stringify(json)).not.toMatch(/allUsers|allAuthenticatedUsers/);
  });

  it('lets the Pub/Sub service agent mint tokens and dead-letter messages, and keeps dead letters for inspection', () => {
    const json = synth();
    const agent = /^serviceAccount:service-\$\{data\.google_project\.logs_project_[A-Z0-9]+\.number\}@gcp-sa-pubsub\.iam\.gserviceaccount\.com$/;
    expect(only(json, 'google_service_account_iam_member')).toMatchObject({ role: 'roles/iam.serviceAccountTokenCreator', member: expect.stringMatching(agent) });
    expect(only(json, 'google_pubsub_subscription_iam_member')).toMatchObject({ role: 'roles/pubsub.subscriber', member: expect.stringMatching(agent) });
    expect(resources(json, 'google_pubsub_topic_iam_member').some(([, m]) => agent.test(m['member']) && m['role'] === 'roles/pubsub.publisher')).toBe(true);
    expect(resources(json, 'google_pubsub_subscription').find(([, s]) => s['name'] === 'mm-prod-migration-logs-dead')![1]).toMatchObject({ message_retention_duration: '604800s' });
  });

  it('takes the filter as given without the event terms, and refuses what would export everything', () => {
    expect(only(synth({ wellKnownEventsOnly: false }), 'google_logging_project_sink')['filter']).toBe(FILTER);
    // the handler's own patterns match other texts: then every entry the filter selects is sent, unless told otherwise
    const own = { patterns: [{ name: 'rows', regex: 'copied \\d+ rows', actions: [{ do: 'progress' as const }] }] };
    expect(only(synth({ watch: own }), 'google_logging_project_sink')['filter']).toBe(FILTER);
    expect(only(synth({ watch: { useDefaultPatterns: false } }), 'google_logging_project_sink')['filter']).toBe(FILTER);
    expect(only(synth({ watch: own, wellKnownEventsOnly: true }), 'google_logging_project_sink')['filter']).toMatch(/^\(.*\) AND \("Migration started" OR /);
    expect(only(synth({ watch: { phaseMap: { copy: 'bulk-copy' } } }), 'google_logging_project_sink')['filter']).toMatch(/ AND \("Migration started" OR /);
    expect(() => synth({ filter: '  ' })).toThrow(/needs a filter/);
    expect(() => synth({ maxDeliveryAttempts: 2 })).toThrow(/maxDeliveryAttempts must be an integer 5-100/);
    expect(() => synth({ pushPath: 'x' })).toThrow(/pushPath must start with/);
  });
});
