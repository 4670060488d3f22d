import { Construct } from 'constructs';
import { DataGoogleProject } from '@cdktf/provider-google/lib/data-google-project';
import { LoggingProjectSink } from '@cdktf/provider-google/lib/logging-project-sink';
import { PubsubSubscription } from '@cdktf/provider-google/lib/pubsub-subscription';
import { PubsubSubscriptionIamMember } from '@cdktf/provider-google/lib/pubsub-subscription-iam-member';
import { PubsubTopic } from '@cdktf/provider-google/lib/pubsub-topic';
import { PubsubTopicIamMember } from '@cdktf/provider-google/lib/pubsub-topic-iam-member';
import { ServiceAccount } from '@cdktf/provider-google/lib/service-account';
import { ServiceAccountIamMember } from '@cdktf/provider-google/lib/service-account-iam-member';
import { DEFAULT_PATTERNS } from '../../core/logwatch/defaults';
import type { LogWatchConfigInput } from '../../core/logwatch/config';
import { checkLabels, saMember, serviceAccountId, type GcpPlacement } from './common';

/** The Cloud Run handler serving `pubsubHandler` of lambda/log-ingest.ts (a CloudRunHandler fits). */
export interface PushTarget {
  uri: string;
  grantInvoker(id: string, serviceAccountEmail: string): unknown;
}

export interface LogSinkProps {
  placement: GcpPlacement;
  handler: PushTarget;
  /** Cloud Logging filter selecting the migration jobs' logs, e.g. `resource.type="cloud_run_job" AND resource.labels.job_name="tenant-migrator"`. */
  filter: string;
  /**
   * Also require one of the well-known events' texts (fewer pushes). Default: true while the handler's
   * config (`watch`) uses only the default patterns, false once it adds patterns of its own or drops them.
   */
  wellKnownEventsOnly?: boolean;
  /** The log analyzer's config the handler runs with (LOG_WATCH_CONFIG); read only for the default above. */
  watch?: LogWatchConfigInput;
  /** Deliveries before a message goes to the dead-letter topic. Default 10 (5-100). */
  maxDeliveryAttempts?: number;
  /** Path of the push endpoint on the handler. Default `/`. */
  pushPath?: string;
  /** CMEK for both topics. */
  kmsKeyName?: string;
}

/**
 * Zero-code tracking on GCP: a Cloud Logging sink sends the migration jobs' log entries to a Pub/Sub topic;
 * a push subscription delivers them to the log-ingest Cloud Run handler with an OIDC token of a service
 * account that may invoke that one service and nothing else. Deliveries are retried with backoff, then go
 * to a dead-letter topic (kept for 7 days on a pull subscription for inspection). The jobs are not changed.
 */
export class LogSink extends Construct {
  readonly topic: PubsubTopic;
  readonly deadLetterTopic: PubsubTopic;
  readonly sink: LoggingProjectSink;
  readonly subscription: PubsubSubscription;
  readonly pushServiceAccount: ServiceAccount;
  /** The filter the sink applies. */
  readonly filter: string;

  constructor(scope: Construct, id: string, props: LogSinkProps) {
    super(scope, id);
    const { project, namePrefix } = props.placement;
    const labels = checkLabels({ ...props.placement.labels, purpose: 'log-tracking' });
    const attempts = props.maxDeliveryAttempts ?? 10;
    if (!Number.isInteger(attempts) || attempts < 5 || attempts > 100) throw new Error(`maxDeliveryAttempts must be an integer 5-100 (Pub/Sub's range), got ${attempts}`);
    if (!props.filter.trim()) throw new Error('LogSink needs a filter selecting the migration jobs\' logs (an empty filter would export every log of the project)');
    const pushPath = props.pushPath ?? '/';
    if (!pushPath.startsWith('/')) throw new Error(`pushPath must start with "/" (got "${pushPath}")`);

    const customPatterns = (props.watch?.patterns?.length ?? 0) > 0 || props.watch?.useDefaultPatterns === false;
    const eventsOnly = props.wellKnownEventsOnly ?? !customPatterns;
    this.filter = eventsOnly ? `(${props.filter}) AND (${DEFAULT_PATTERNS.map((p) => JSON.stringify(p.name)).join(' OR ')})` : props.filter;
    const name = `${namePrefix}-migration-logs`;
    const kms = props.kmsKeyName ? { kmsKeyName: props.kmsKeyName } : {};
    this.topic = new PubsubTopic(this, 'topic', { project, name, labels, messageRetentionDuration: '86400s', ...kms });
    this.deadLetterTopic = new PubsubTopic(this, 'dead-letter', { project, name: `${name}-dead`, labels, ...kms });
    new PubsubSubscription(this, 'dead-letter-sub', {
      project,
      name: `${name}-dead`,
      topic: this.deadLetterTopic.id,
      labels,
      messageRetentionDuration: '604800s',
      expirationPolicy: { ttl: '' },
    });

    this.sink = new LoggingProjectSink(this, 'sink', {
      project,
      name,
      destination: `pubsub.googleapis.com/${this.topic.id}`,
      filter: this.filter,
      uniqueWriterIdentity: true,
      description: 'Migration monitor: migration job logs → log-ingest (zero-code tracking)',
    });
    new PubsubTopicIamMember(this, 'sink-publisher', { project, topic: this.topic.name, role: 'roles/pubsub.publisher', member: this.sink.writerIdentity });

    this.pushServiceAccount = new ServiceAccount(this, 'push-sa', {
      project,
      accountId: serviceAccountId(namePrefix, 'log-push'),
      displayName: 'Migration monitor: Pub/Sub push to log-ingest',
    });
    props.handler.grantInvoker('log-push', this.pushServiceAccount.email);

    // The Pub/Sub service agent mints the push OIDC tokens and moves undeliverable messages to the dead-letter topic.
    const projectData = new DataGoogleProject(this, 'project', { projectId: project });
    const agent = saMember(`service-${projectData.number}@gcp-sa-pubsub.iam.gserviceaccount.com`);
    new ServiceAccountIamMember(this, 'agent-token-creator', { serviceAccountId: this.pushServiceAccount.name, role: 'roles/iam.serviceAccountTokenCreator', member: agent });
    new PubsubTopicIamMember(this, 'agent-dead-letter-publisher', { project, topic: this.deadLetterTopic.name, role: 'roles/pubsub.publisher', member: agent });

    this.subscription = new PubsubSubscription(this, 'push', {
      project,
      name: `${name}-push`,
      topic: this.topic.id,
      labels,
      ackDeadlineSeconds: 60,
      messageRetentionDuration: '604800s',
      expirationPolicy: { ttl: '' },
      retryPolicy: { minimumBackoff: '10s', maximumBackoff: '600s' },
      deadLetterPolicy: { deadLetterTopic: this.deadLetterTopic.id, maxDeliveryAttempts: attempts },
      pushConfig: {
        pushEndpoint: `${props.handler.uri}${pushPath === '/' ? '' : pushPath}`,
        oidcToken: { serviceAccountEmail: this.pushServiceAccount.email, audience: props.handler.uri },
      },
    });
    new PubsubSubscriptionIamMember(this, 'agent-subscriber', { project, subscription: this.subscription.name, role: 'roles/pubsub.subscriber', member: agent });
  }
}
