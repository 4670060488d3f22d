/**
 * The one secret reader and the one parameter reader. Each AWS client is created once, on first use, and
 * shared by every handler in the process; nothing here logs a value. On Cloud Run and locally secrets arrive
 * as environment variables (Cloud Run mounts Secret Manager versions there), so `secretFromEnv` reads the
 * variable itself first and only then the `<NAME>_SECRET_ARN` that names an AWS Secrets Manager secret.
 */
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SSMClient } from '@aws-sdk/client-ssm';

let secretsClient: SecretsManagerClient | undefined;
let ssmClient: SSMClient | undefined;
const cache = new Map<string, { value: Promise<string>; until: number }>();

/** The process's SSM client (also used by the operator switch, so one connection pool serves both). */
export function sharedSsmClient(): SSMClient {
  // require, not import: the AWS SDK stays external to the Lambda bundles (the runtime provides it)
  const { SSMClient: Client } = require('@aws-sdk/client-ssm') as typeof import('@aws-sdk/client-ssm');
  return (ssmClient ??= new Client({}));
}

function sharedSecretsClient(): SecretsManagerClient {
  const { SecretsManagerClient: Client } = require('@aws-sdk/client-secrets-manager') as typeof import('@aws-sdk/client-secrets-manager');
  return (secretsClient ??= new Client({}));
}

export interface ReadOptions {
  /** Keep the value this long (a rotated secret is seen after it). Default: for the life of the process. */
  maxAgeMs?: number;
  now?: () => number;
}

/** A Secrets Manager secret's string (by ARN or name). Errors name the secret and the AWS error, never the value. */
export function readSecret(secretId: string, opts: ReadOptions = {}): Promise<string> {
  return cached(`secret:${secretId}`, opts, async () => {
    const { GetSecretValueCommand } = require('@aws-sdk/client-secrets-manager') as typeof import('@aws-sdk/client-secrets-manager');
    try {
      const r = await sharedSecretsClient().send(new GetSecretValueCommand({ SecretId: secretId }));
      if (typeof r.SecretString !== 'string' || !r.SecretString) throw new Error('the secret has no string value');
      return r.SecretString;
    } catch (e) {
      throw new Error(`cannot read secret ${secretId} from Secrets Manager: ${(e as Error).name}: ${(e as Error).message}`);
    }
  });
}

/** A Parameter Store parameter's value (SecureString decrypted), trimmed. */
export function readParameter(name: string, opts: ReadOptions = {}): Promise<string> {
  return cached(`parameter:${name}`, opts, async () => {
    const { GetParameterCommand } = require('@aws-sdk/client-ssm') as typeof import('@aws-sdk/client-ssm');
    try {
      const r = await sharedSsmClient().send(new GetParameterCommand({ Name: name, WithDecryption: true }));
      const v = r.Parameter?.Value?.trim();
      if (!v) throw new Error('the parameter has no value');
      return v;
    } catch (e) {
      throw new Error(`cannot read SSM parameter ${name}: ${(e as Error).name}: ${(e as Error).message}`);
    }
  });
}

/**
 * A secret given to a runtime: the variable `name` itself (Cloud Run, local), else the Secrets Manager secret
 * that `arnVariable` (default `<name>_SECRET_ARN`) names (Lambda), else undefined.
 */
export async function secretFromEnv(env: NodeJS.ProcessEnv, name: string, arnVariable = `${name}_SECRET_ARN`, opts: ReadOptions = {}): Promise<string | undefined> {
  const direct = env[name];
  if (direct) return direct;
  const arn = env[arnVariable];
  return arn ? readSecret(arn, opts) : undefined;
}

function cached(key: string, opts: ReadOptions, load: () => Promise<string>): Promise<string> {
  const now = (opts.now ?? Date.now)();
  const hit = cache.get(key);
  if (hit && hit.until > now) return hit.value;
  const value = load();
  cache.set(key, { value, until: opts.maxAgeMs === undefined ? Infinity : now + opts.maxAgeMs });
  value.catch(() => cache.get(key)?.value === value && cache.delete(key));
  return value;
}
