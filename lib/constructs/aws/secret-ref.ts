import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';

/**
 * An existing Secrets Manager secret from its name (`migration/slack-webhook`) or its complete ARN, as the
 * stack config gives them. Only the reference is in the template; handlers read the value at run time.
 */
export function secretRef(scope: Construct, id: string, nameOrArn: string): secretsmanager.ISecret {
  return nameOrArn.startsWith('arn:')
    ? secretsmanager.Secret.fromSecretCompleteArn(scope, id, nameOrArn)
    : secretsmanager.Secret.fromSecretNameV2(scope, id, nameOrArn);
}
