import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/**
 * Read a secret string from AWS Secrets Manager (by ARN or name). The value is returned, never logged; an
 * error names the secret id and the AWS error, not the value.
 */
export async function readSecretString(secretId: string, client: SecretsManagerClient = new SecretsManagerClient({})): Promise<string> {
  try {
    const r = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
    if (typeof r.SecretString !== 'string' || !r.SecretString) throw new Error('the secret has no string value');
    return r.SecretString;
  } catch (e) {
    throw new Error(`cannot read secret ${secretId} from Secrets Manager: ${(e as Error).name}: ${(e as Error).message}`);
  }
}
