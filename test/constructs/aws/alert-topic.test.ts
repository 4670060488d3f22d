import { RemovalPolicy } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AlertTopic } from '../../../lib/constructs/aws/alert-topic';
import { handlerDefaults, resources, template, testStack } from './helpers';

describe('AlertTopic', () => {
  it('encrypts the topic with a rotating customer-managed key and refuses non-TLS publishers', () => {
    const stack = testStack();
    new AlertTopic(stack, 'Alerts', { emails: [], removalPolicy: RemovalPolicy.RETAIN, handlerDefaults: handlerDefaults() });
    const t = template(stack);
    t.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    t.hasResource('AWS::KMS::Key', { DeletionPolicy: 'Retain' });
    const [keyId] = resources(t, 'AWS::KMS::Key')[0]!;
    t.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] } });
    t.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Action: 'sns:Publish', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
    // CloudWatch (alarms) may use the key to publish, SNS to write dead letters.
    t.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({ Principal: { Service: ['cloudwatch.amazonaws.com', 'sns.amazonaws.com'] }, Action: ['kms:Decrypt', 'kms:GenerateDataKey*'] }),
        ]),
      },
    });
    t.resourceCountIs('AWS::Lambda::Function', 0);
  });

  it('subscribes every on-call address with a dead-letter queue for failed deliveries', () => {
    const stack = testStack();
    const alerts = new AlertTopic(stack, 'Alerts', { emails: ['a@example.com', 'b@example.com'], removalPolicy: RemovalPolicy.DESTROY, handlerDefaults: handlerDefaults() });
    const t = template(stack);
    const dlqId = stack.getLogicalId(alerts.deadLetterQueue.node.defaultChild as never);
    for (const email of ['a@example.com', 'b@example.com']) {
      t.hasResourceProperties('AWS::SNS::Subscription', {
        Protocol: 'email',
        Endpoint: email,
        RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] } },
      });
    }
    t.hasResourceProperties('AWS::SQS::Queue', { KmsMasterKeyId: Match.anyValue() });
  });

  it('adds a Slack notifier that reads the webhook from Secrets Manager, never from a plain environment value', () => {
    const stack = testStack();
    new AlertTopic(stack, 'Alerts', {
      emails: [],
      slackWebhookSecret: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:migration/slack-AbCdEf',
      removalPolicy: RemovalPolicy.DESTROY,
      handlerDefaults: handlerDefaults(),
    });
    const t = template(stack);
    const [[, fn]] = resources(t, 'AWS::Lambda::Function') as [[string, any]];
    const env = fn.Properties.Environment.Variables as Record<string, unknown>;
    expect(env['SLACK_WEBHOOK_SECRET_ARN']).toBe('arn:aws:secretsmanager:eu-west-1:123456789012:secret:migration/slack-AbCdEf');
    expect(JSON.stringify(env)).not.toMatch(/hooks\.slack\.com/);
    expect(fn.Properties.Architectures).toEqual(['arm64']);
    expect(fn.Properties.DeadLetterConfig).toBeDefined();
    t.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'], Resource: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:migration/slack-AbCdEf' }),
        ]),
      },
    });
    t.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'lambda', RedrivePolicy: Match.objectLike({ deadLetterTargetArn: Match.anyValue() }) });
  });

  it('grantPublish gives sns:Publish on the topic and the key use SNS needs to encrypt the message', () => {
    const stack = testStack();
    const alerts = new AlertTopic(stack, 'Alerts', { emails: [], removalPolicy: RemovalPolicy.DESTROY, handlerDefaults: handlerDefaults() });
    const role = new iam.Role(stack, 'Job', { assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com') });
    alerts.grantPublish(role);
    const t = template(stack);
    const [topicId] = resources(t, 'AWS::SNS::Topic')[0]!;
    const [keyId] = resources(t, 'AWS::KMS::Key')[0]!;
    const statements = resources(t, 'AWS::IAM::Policy').flatMap(([, p]) => p.Properties.PolicyDocument.Statement as any[]);
    expect(statements).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Action: 'sns:Publish', Effect: 'Allow', Resource: { Ref: topicId } }),
        expect.objectContaining({ Action: expect.arrayContaining(['kms:GenerateDataKey*', 'kms:Decrypt']), Resource: { 'Fn::GetAtt': [keyId, 'Arn'] } }),
      ]),
    );
  });

  describe('pager topic', () => {
    const PD = 'https://events.pagerduty.com/integration/0123456789abcdef/enqueue';
    const make = (then: (a: AlertTopic, s: ReturnType<typeof testStack>) => void = () => undefined) => {
      const stack = testStack();
      const alerts = new AlertTopic(stack, 'Alerts', { emails: ['oncall@example.com'], pagerEndpoints: ['pager@acme.pagerduty.com', PD], removalPolicy: RemovalPolicy.DESTROY, handlerDefaults: handlerDefaults() });
      then(alerts, stack);
      return { stack, alerts, t: template(stack) };
    };

    it('is a second topic under the same customer-managed key, TLS only, whose subscriptions take severity=critical messages only', () => {
      const { stack, alerts, t } = make();
      t.resourceCountIs('AWS::SNS::Topic', 2);
      t.resourceCountIs('AWS::KMS::Key', 1);
      const pagerId = stack.getLogicalId(alerts.pagerTopic!.node.defaultChild as never);
      const [keyId] = resources(t, 'AWS::KMS::Key')[0]!;
      expect(t.toJSON().Resources[pagerId].Properties.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': [keyId, 'Arn'] });
      const dlqId = stack.getLogicalId(alerts.deadLetterQueue.node.defaultChild as never);
      const subs = resources(t, 'AWS::SNS::Subscription').map(([, s]) => s.Properties).filter((p) => p.TopicArn.Ref === pagerId);
      expect(subs.map((p) => [p.Protocol, p.Endpoint]).sort()).toEqual([['email', 'pager@acme.pagerduty.com'], ['https', PD]]);
      for (const p of subs) {
        expect(p.FilterPolicy).toEqual({ severity: ['critical'] });
        expect(p.RedrivePolicy).toEqual({ deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] } });
      }
      // the on-call topic's subscriptions are unfiltered (alarms carry no severity attribute)
      const onCall = resources(t, 'AWS::SNS::Subscription').map(([, s]) => s.Properties).filter((p) => p.TopicArn.Ref !== pagerId);
      expect(onCall.map((p) => p.FilterPolicy)).toEqual([undefined]);
      // TLS only; and no service (no alarm) is allowed to publish: only identity grants (the tracker's)
      const policies = resources(t, 'AWS::SNS::TopicPolicy').filter(([, p]) => p.Properties.Topics.some((x: any) => x.Ref === pagerId));
      expect(policies).toHaveLength(1);
      expect(policies[0]![1].Properties.PolicyDocument.Statement).toEqual([expect.objectContaining({ Effect: 'Deny', Action: 'sns:Publish', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]);
    });

    it('grantPublish(grantee, pagerTopic) gives sns:Publish on the pager topic and the shared key, nothing on the on-call topic', () => {
      const { stack, alerts, t } = make((a, s) => a.grantPublish(new iam.Role(s, 'Tracker', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') }), a.pagerTopic));
      const pagerId = stack.getLogicalId(alerts.pagerTopic!.node.defaultChild as never);
      const statements = resources(t, 'AWS::IAM::Policy').flatMap(([, p]) => p.Properties.PolicyDocument.Statement as any[]);
      expect(statements.filter((s) => s.Action === 'sns:Publish').map((s) => s.Resource)).toEqual([{ Ref: pagerId }]);
      expect(statements.some((s) => Array.isArray(s.Action) && s.Action.includes('kms:GenerateDataKey*'))).toBe(true);
    });

    it('refuses an endpoint that is neither an e-mail address nor an https URL', () => {
      expect(() => new AlertTopic(testStack(), 'Alerts', { emails: [], pagerEndpoints: ['http://pager.example.com/hook'], removalPolicy: RemovalPolicy.DESTROY, handlerDefaults: handlerDefaults() })).toThrow(/pager endpoint "http:\/\/pager.example.com\/hook" is neither an e-mail address nor an https:\/\/ URL/);
    });
  });
});
