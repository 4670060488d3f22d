import * as fs from 'node:fs';
import * as path from 'node:path';
import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { configForDeployment, configVariables, CONNECTOR_TYPES, DEFAULT_BUNDLED_CONNECTORS, type ConnectorType } from '../../core/validation/config';
import { HandlerFunction, PROJECT_ROOT, type HandlerDefaults } from './handler-function';

/** AWS resources the checks read: a dynamodb connector's table, an aws-resource check's table, bucket or function. */
export interface ValidationResources {
  /** DescribeTable (aws-resource), Scan and BatchGetItem (dynamodb connector), DescribeTimeToLive and DescribeContinuousBackups (schema check). */
  dynamodbTables?: string[];
  /** HeadBucket (aws-resource), which needs s3:ListBucket. */
  s3Buckets?: string[];
  /** GetFunction (aws-resource). Names, in this account and region. */
  lambdaFunctions?: string[];
}

/** The esbuild defines that leave out the drivers of the connector types not listed (see lib/adapters/validation-deps.ts). */
export function validationBundleDefine(connectors: readonly ConnectorType[] = DEFAULT_BUNDLED_CONNECTORS): Record<string, string> {
  const unknown = connectors.filter((c) => !(CONNECTOR_TYPES as readonly string[]).includes(c));
  if (unknown.length) throw new Error(`ValidationFunction: unknown connector type(s) ${unknown.join(', ')} (known: ${CONNECTOR_TYPES.join(', ')})`);
  // The function reads its config as JSON (the construct turns a YAML file into JSON at synth): no YAML parser.
  const define: Record<string, string> = { 'process.env.MM_BUNDLE_OMIT_YAML': '"true"' };
  if (!connectors.includes('postgres')) define['process.env.MM_BUNDLE_OMIT_POSTGRES'] = '"true"';
  if (!connectors.includes('redis')) define['process.env.MM_BUNDLE_OMIT_REDIS'] = '"true"';
  return define;
}

export interface ValidationFunctionProps {
  handlerDefaults: HandlerDefaults;
  /**
   * The checks config file (YAML or JSON), read and checked at synth: a bad config fails the synth naming each
   * problem's path, and the function gets it as JSON in its code (validation-config.json). Values written as
   * `${VAR}` are the function's environment variables, resolved and checked when it runs. Without `connectors`,
   * the bundle carries the drivers of the connector types this config uses, and no others.
   * Exactly one of `configFile` and `configParameter`.
   */
  configFile?: string;
  /**
   * SSM parameter holding the checks config as JSON (String, or SecureString with the aws/ssm key when it holds
   * credentials), read at each run: the function has no YAML parser (convert a YAML file first, or use `configFile`).
   * Exactly one of `configFile` and `configParameter`.
   */
  configParameter?: string;
  /**
   * Secrets Manager secrets the config's `${NAME}` references take their values from, by name (e.g.
   * `{ SOURCE_DB_PASSWORD: secret }` for `url: postgres://app:${SOURCE_DB_PASSWORD}@db:5432/orders`): read at
   * each run (re-read after five minutes), never in the template or the code; the role may read exactly these.
   * With `configFile`, a reference without a `:-default` that names no secret here fails the synth.
   * @default - none
   */
  configSecrets?: Record<string, secretsmanager.ISecret>;
  /** Post runs to the tracker API (SigV4, as this function's role) for this migration. */
  tracker?: { url: string; migrationId: string; grantInvoke(grantee: iam.IGrantable): iam.Grant };
  /** Store each run's report (JSON + Markdown) in S3 through this grant, under `prefix` (e.g. the report bucket's `validation/`). */
  reports?: { bucketName: string; prefix: string; grant(role: iam.Role, prefix: string): void };
  resources?: ValidationResources;
  /**
   * Connector types the checks config uses: only their drivers are bundled, which keeps the bundle and
   * its cold start small. A config that uses another type is refused before any check runs, with a
   * message naming the setting to change. Default: with `configFile`, the types that config uses; with
   * `configParameter` (unknown at synth), DEFAULT_BUNDLED_CONNECTORS (dynamodb, http-json, file, postgres).
   */
  connectors?: readonly ConnectorType[];
  /** Up to 15 minutes; a longer run stops 20 s before, saves its place and resumes on the next schedule. */
  timeout?: Duration;
  memoryMb?: number;
}

export const VALIDATION_ENTRY = path.join(PROJECT_ROOT, 'lambda/validate.ts');

/** What the Lambda runtime sets in every function's environment (a config may use `${AWS_REGION}`). */
const LAMBDA_RUNTIME_VARIABLES = ['AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_LAMBDA_FUNCTION_NAME', 'AWS_LAMBDA_FUNCTION_VERSION', 'AWS_LAMBDA_FUNCTION_MEMORY_SIZE', 'AWS_EXECUTION_ENV', 'LAMBDA_TASK_ROOT'];

/** Where a `configFile` lands in the function's code (VALIDATION_CONFIG_PATH, relative to /var/task). */
const CONFIG_FILE_NAME = 'validation-config.json';

/**
 * The config file checked by the one schema and turned into JSON, at synth; a bad one throws naming the file and
 * each path, as does a `${NAME}` the function will have no value for (no default, not among `secretNames`).
 */
function configFromFile(file: string, secretNames: string[]): { json: string; connectorTypes: ConnectorType[] } {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`ValidationFunction: cannot read configFile ${file}: ${(e as Error).message}`);
  }
  let config: { json: string; connectorTypes: ConnectorType[] };
  try {
    config = configForDeployment(text, file);
  } catch (e) {
    throw new Error(`ValidationFunction: ${(e as Error).message}`);
  }
  const unset = configVariables(JSON.parse(config.json)).filter((v) => !v.optional && !secretNames.includes(v.name) && !LAMBDA_RUNTIME_VARIABLES.includes(v.name));
  if (unset.length) {
    throw new Error(`ValidationFunction: ${file}: ${unset.map((v) => `${v.path}: \${${v.name}} has no value in the function: name a secret for it in configSecrets, or give it a default (\${${v.name}:-value})`).join('; ')}`);
  }
  return config;
}

/**
 * Scheduled validation on AWS: lambda/validate.ts with its checks config checked at synth and shipped as JSON
 * (`configFile`), or read as JSON from Parameter Store at each run (`configParameter`), one run at a time. The role may read that one parameter and only the AWS resources named in
 * `resources`; databases reached over the network (postgres, redis, HTTP) need no IAM but network access.
 */
export class ValidationFunction extends Construct {
  readonly handler: HandlerFunction;
  /** The connector types whose drivers this function's bundle carries. */
  readonly connectors: readonly ConnectorType[];

  constructor(scope: Construct, id: string, props: ValidationFunctionProps) {
    super(scope, id);
    if ((props.configFile === undefined) === (props.configParameter === undefined)) {
      throw new Error('ValidationFunction: give exactly one of configFile (checked at synth, shipped as JSON) and configParameter (an SSM parameter holding JSON)');
    }
    if (props.configParameter !== undefined && !/^\/[A-Za-z0-9_.\-/]*[A-Za-z0-9_.-]$/.test(props.configParameter)) {
      throw new Error(`ValidationFunction: configParameter "${props.configParameter}" must be an SSM parameter name starting with /`);
    }
    const secrets = props.configSecrets ?? {};
    const badNames = Object.keys(secrets).filter((n) => !/^[A-Za-z_][A-Za-z0-9_]*$/.test(n));
    if (badNames.length) throw new Error(`ValidationFunction: configSecrets ${badNames.join(', ')}: a name is what the config writes as \${NAME} (letters, digits, _)`);
    const config = props.configFile !== undefined ? configFromFile(props.configFile, Object.keys(secrets)) : undefined;
    if (config && props.connectors) {
      const missing = config.connectorTypes.filter((t) => !props.connectors!.includes(t));
      if (missing.length) throw new Error(`ValidationFunction: ${props.configFile} uses connector type(s) ${missing.join(', ')}, which connectors (${props.connectors.join(', ')}) leaves out: add them, or leave connectors unset to follow the config`);
    }
    const reportPrefix = props.reports?.prefix ?? 'validation';
    this.connectors = props.connectors ?? (config ? config.connectorTypes : DEFAULT_BUNDLED_CONNECTORS);
    this.handler = new HandlerFunction(this, 'Handler', {
      ...props.handlerDefaults,
      entry: VALIDATION_ENTRY,
      description: 'Migration validation: checks from Parameter Store, results to metrics, tracker and S3',
      timeout: props.timeout ?? Duration.minutes(5),
      memorySize: props.memoryMb ?? 1024,
      // Checkpoints are per execution environment (/tmp): one run at a time, so a cut-short run resumes where it stopped.
      reservedConcurrentExecutions: 1,
      define: validationBundleDefine(this.connectors),
      ...(config ? { files: { [CONFIG_FILE_NAME]: config.json } } : {}),
      environment: {
        ...(config ? { VALIDATION_CONFIG_PATH: CONFIG_FILE_NAME } : { VALIDATION_CONFIG_PARAMETER: props.configParameter! }),
        ...Object.fromEntries(Object.entries(secrets).map(([n, secret]) => [`${n}_SECRET_ARN`, secret.secretArn])),
        ...(props.tracker
          ? { MIGRATION_MONITOR_URL: props.tracker.url, MIGRATION_MONITOR_SIGV4: 'true', MIGRATION_MONITOR_MIGRATION: props.tracker.migrationId }
          : {}),
        ...(props.reports ? { MM_REPORT_SINK: 's3', MM_REPORT_BUCKET: props.reports.bucketName, MM_REPORT_PREFIX: reportPrefix } : {}),
      },
    });
    const role = this.handler.role;
    const stack = Stack.of(this);
    if (props.configParameter !== undefined) {
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'ReadChecksConfig',
          actions: ['ssm:GetParameter'],
          resources: [stack.formatArn({ service: 'ssm', resource: 'parameter', resourceName: props.configParameter.slice(1) })],
        }),
      );
    }
    const r = props.resources ?? {};
    if (r.dynamodbTables?.length) {
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'ReadCheckedTables',
          actions: ['dynamodb:DescribeTable', 'dynamodb:DescribeTimeToLive', 'dynamodb:DescribeContinuousBackups', 'dynamodb:Scan', 'dynamodb:BatchGetItem'],
          resources: r.dynamodbTables.map((t) => stack.formatArn({ service: 'dynamodb', resource: 'table', resourceName: t })),
        }),
      );
    }
    if (r.s3Buckets?.length) {
      role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'HeadCheckedBuckets', actions: ['s3:ListBucket'], resources: r.s3Buckets.map((b) => `arn:${stack.partition}:s3:::${b}`) }));
    }
    if (r.lambdaFunctions?.length) {
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'GetCheckedFunctions',
          actions: ['lambda:GetFunction'],
          resources: r.lambdaFunctions.map((f) => stack.formatArn({ service: 'lambda', resource: 'function', resourceName: f, arnFormat: ArnFormat.COLON_RESOURCE_NAME })),
        }),
      );
    }
    for (const secret of Object.values(secrets)) secret.grantRead(role);
    props.tracker?.grantInvoke(role);
    props.reports?.grant(role, reportPrefix);
  }
}
