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

  constructor(scope: Construct, id: string, props: ParametersProps) {
    super(scope, id);
    this.write('Stack', props.prefix, props);
    for (const m of props.migrations) this.write(`Migration-${m}`, `${props.prefix}/${m}`, props);
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
