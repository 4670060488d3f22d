import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';

export interface ParametersProps {
  /** Prefix without trailing slash, e.g. `/migration`. */
  prefix: string;
  alertTopicArn: string;
  apiUrl: string;
  /** Report bucket name; omitted until the report part is deployed. */
  reportBucketName?: string;
  /** Resolved alarm thresholds, by alarm id (JSON in SSM, for scripts that want to match the alarms). */
  thresholds: Record<string, number>;
  /** Migrations that get their own copy under `<prefix>/<id>/…`. */
  migrations: string[];
}

/** The SSM names this construct writes, so scripts and tests agree on them. */
export const parameterNames = (prefix: string) => ({
  alertTopicArn: `${prefix}/alert-topic-arn`,
  apiUrl: `${prefix}/api-url`,
  reportBucket: `${prefix}/report-bucket`,
  thresholds: `${prefix}/thresholds`,
});

/**
 * Parameter Store entries a migration script or CI job reads instead of hard-coding stack outputs:
 * `<prefix>/alert-topic-arn`, `<prefix>/api-url`, `<prefix>/report-bucket`, `<prefix>/thresholds`, and
 * the same four under `<prefix>/<migrationId>/` for every configured migration.
 */
export class Parameters extends Construct {
  readonly parameters: ssm.StringParameter[] = [];
  private readonly prefix: string;

  constructor(scope: Construct, id: string, props: ParametersProps) {
    super(scope, id);
    this.prefix = props.prefix;
    this.write('Stack', props.prefix, props);
    for (const m of props.migrations) this.write(`Migration-${m}`, `${props.prefix}/${m}`, props);
  }

  /**
   * Let a principal read the stack's parameters (`<prefix>/…`, e.g. a CI job that looks up the API URL), or
   * only one migration's (`<prefix>/<migrationId>/…`). String parameters: no KMS grant is needed.
   */
  grantRead(grantee: iam.IGrantable, migrationId?: string): iam.Grant {
    const stack = Stack.of(this);
    const names = Object.values(parameterNames(migrationId ? `${this.prefix}/${migrationId}` : this.prefix));
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['ssm:GetParameter', 'ssm:GetParameters', 'ssm:GetParametersByPath'],
      resourceArns: [
        ...names.map((n) => stack.formatArn({ service: 'ssm', resource: 'parameter', resourceName: n.slice(1) })),
        // GetParametersByPath is authorized on the path itself
        stack.formatArn({ service: 'ssm', resource: 'parameter', resourceName: (migrationId ? `${this.prefix}/${migrationId}` : this.prefix).slice(1) }),
      ],
    });
  }

  private write(id: string, prefix: string, props: ParametersProps) {
    const scope = new Construct(this, id);
    const names = parameterNames(prefix);
    const put = (pid: string, name: string, value: string, description: string) =>
      this.parameters.push(new ssm.StringParameter(scope, pid, { parameterName: name, stringValue: value, description }));
    put('AlertTopicArn', names.alertTopicArn, props.alertTopicArn, 'SNS topic that receives migration alarms');
    put('ApiUrl', names.apiUrl, props.apiUrl, 'Tracker API base URL (IAM/SigV4 auth, service execute-api)');
    if (props.reportBucketName) put('ReportBucket', names.reportBucket, props.reportBucketName, 'S3 bucket holding migration status reports');
    put('Thresholds', names.thresholds, JSON.stringify(props.thresholds), 'Alarm thresholds by alarm id (JSON)');
  }
}
