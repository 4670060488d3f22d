import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Aws, CfnRule, Duration, Fn, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { entryKey, prebuiltLambda } from '../prebuilt';

/** What every handler Lambda of the stack shares. */
export interface HandlerDefaults {
  /** Powertools `service` (also the dimension the alarms read). */
  serviceName: string;
  /** CloudWatch namespace of the EMF metrics. */
  metricsNamespace: string;
  logRetention: logs.RetentionDays;
  /** Applied to the log group. */
  removalPolicy: RemovalPolicy;
  /** Failed asynchronous invocations (scheduler, SNS) land here after Lambda's retries. */
  deadLetterQueue?: sqs.IQueue;
  /** OpenTelemetry spans through a collector layer (docs/tracing.md); unset = no spans beyond Lambda's own X-Ray segments. */
  tracing?: HandlerTracing;
}

/**
 * Spans of every handler exported by the tiny OTLP/HTTP JSON exporter to a collector running as a Lambda
 * extension: the ADOT collector layer (its default configuration sends them to X-Ray) or any OpenTelemetry
 * collector layer. Nothing is added to the bundles.
 *
 * No default ARN: layers are regional and versioned (a pinned default goes stale and fails in any other region),
 * and tracing is off unless asked for. The ADOT JavaScript layer (`aws-otel-nodejs-arm64-ver-…`) works too: its
 * embedded collector receives the spans; its `AWS_LAMBDA_EXEC_WRAPPER=/opt/otel-handler` is not set, because the
 * handlers already make their spans, the wrapper would load the OpenTelemetry SDK into every cold start and
 * record each invocation twice, and it cannot patch an esbuild bundle's `export const handler` anyway.
 */
export interface HandlerTracing {
  /**
   * ARN of the layer for the functions' region and architecture (arm64), e.g. the ADOT collector's
   * `arn:aws:lambda:<region>:901920570463:layer:aws-otel-collector-arm64-ver-0-117-0:1`. An amd64/x86 layer is
   * refused at synth (its collector binary cannot start on arm64, so every invocation would fail), and the
   * template asserts at deploy time that the stack's region is the layer's.
   */
  collectorLayerArn: string;
  /** Where the layer's collector listens for OTLP/HTTP. Default http://localhost:4318. */
  endpoint?: string;
  /** OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG. Default parentbased_always_on. */
  sampler?: 'parentbased_always_on' | 'parentbased_traceidratio' | 'always_on' | 'traceidratio';
  samplerArg?: number;
}

const LAYER_ARN = /^arn:aws[a-z-]*:lambda:([a-z0-9-]+):\d{12}:layer:([A-Za-z0-9_-]+):\d+$/;

/**
 * The layer for arm64 functions: refused when it is not a layer version ARN or names another architecture; the
 * stack gets one CloudFormation rule that stops a deployment in another region than the layer's (the stack is
 * environment-agnostic, so the region is known only then).
 */
function collectorLayer(scope: Construct, arn: string): lambda.ILayerVersion {
  const m = LAYER_ARN.exec(arn);
  if (!m) throw new Error(`tracing.collectorLayerArn: "${arn}" is not a Lambda layer version ARN (arn:aws:lambda:<region>:<account>:layer:<name>:<version>)`);
  const [, region, name] = m as unknown as [string, string, string];
  if (/amd64|x86/i.test(name)) throw new Error(`tracing.collectorLayerArn: layer "${name}" is built for x86_64, but the functions run on arm64: take the arm64 build of the layer (…-arm64-…)`);
  const stack = Stack.of(scope);
  if (Token.isUnresolved(stack.region)) {
    if (!stack.node.tryFindChild('TracingLayerRegion'))
      new CfnRule(stack, 'TracingLayerRegion', {
        assertions: [{ assert: Fn.conditionEquals(Aws.REGION, region), assertDescription: `The tracing collector layer is published in ${region}; Lambda layers are regional: deploy to ${region} or take the layer's ARN for this region.` }],
      });
  } else if (stack.region !== region) {
    throw new Error(`tracing.collectorLayerArn: the layer is in ${region}, the stack in ${stack.region}; Lambda layers are regional: take the layer's ARN for ${stack.region}`);
  }
  return lambda.LayerVersion.fromLayerVersionArn(scope, 'CollectorLayer', arn);
}

/** The environment that turns the handlers' exporter on (read by lib/compose/tracing.ts). */
export function tracingEnvironment(t: HandlerTracing): Record<string, string> {
  return {
    OTEL_EXPORTER_OTLP_ENDPOINT: t.endpoint ?? 'http://localhost:4318',
    OTEL_TRACES_SAMPLER: t.sampler ?? 'parentbased_always_on',
    ...(t.samplerArg !== undefined ? { OTEL_TRACES_SAMPLER_ARG: String(t.samplerArg) } : {}),
  };
}

export interface HandlerFunctionProps extends HandlerDefaults {
  /** Entry file under lambda/ (absolute path). */
  entry: string;
  description: string;
  timeout?: Duration;
  memorySize?: number;
  environment?: Record<string, string>;
  reservedConcurrentExecutions?: number;
  /** Extra esbuild `define`s (bundle-time constants that drop adapters a handler does not use). */
  define?: Record<string, string>;
  /** Files written beside index.js in the deployed code (name → content), e.g. a config made at synth. */
  files?: Record<string, string>;
}

export const PROJECT_ROOT = path.join(__dirname, '../../..');

/** esbuild options shared by the CDK bundling and `npm run bench` (so the bench measures what deploys). */
export const BUNDLING = {
  minify: true,
  sourceMap: false,
  target: 'node20',
  format: OutputFormat.CJS,
  /** The Lambda Node.js runtime ships AWS SDK v3: not bundled (NodejsFunction's default for Node ≥ 18). */
  externalModules: ['@aws-sdk/*'],
  /**
   * Bundle-time constants: GCP adapters (GCS, Google auth, ~600 KB) are left out of every AWS bundle; the
   * code paths that would load them throw a message saying so instead (see lib/adapters/report-channels.ts).
   */
  define: { 'process.env.MM_BUNDLE_OMIT_GCP': '"true"', 'process.env.MM_BUNDLE_OMIT_PROMETHEUS': '"true"' } as Record<string, string>,
} as const;

/**
 * The esbuild JS-API options equivalent to BUNDLING with these defines: what the bench measures and what
 * `npm run build` prebuilds (scripts/build-assets.ts), so both match what NodejsFunction deploys.
 */
export function esbuildOptions(entry: string, outfile: string, define: Record<string, string>) {
  return {
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node' as const,
    target: BUNDLING.target,
    format: 'cjs' as const,
    minify: BUNDLING.minify,
    external: [...BUNDLING.externalModules],
    define,
    logLevel: 'error' as const,
  };
}

/**
 * Text in IAM's character set (role and policy descriptions: tab, newline, printable ASCII and Latin-1):
 * IAM refuses anything else at deploy time (cfn-lint E3031). Arrows and dashes become ASCII.
 */
export function iamText(s: string): string {
  return s
    .replace(/[→⇒]/g, '->')
    .replace(/[–—]/g, '-')
    .replace(/[‘’]/g, "'")
    .replace(/[“”]/g, '"')
    .replace(/…/g, '...')
    .replace(/[^\u0009\u000A\u000D\u0020-\u007E\u00A1-\u00FF]/g, '?');
}

/** The files written into a fresh directory (name → content); names are plain file names. */
function stageFiles(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mm-handler-files-'));
  for (const [name, content] of Object.entries(files)) {
    if (!/^[A-Za-z0-9._-]+$/.test(name) || name === 'index.js') throw new Error(`HandlerFunction files: "${name}" must be a plain file name other than index.js`);
    fs.writeFileSync(path.join(dir, name), content);
  }
  return dir;
}

/** A copy of a prebuilt bundle directory with the staged files beside its index.js. */
function withFiles(bundleDir: string, filesDir: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mm-handler-code-'));
  fs.cpSync(bundleDir, dir, { recursive: true });
  fs.cpSync(filesDir, dir, { recursive: true });
  return dir;
}

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** The newest Node.js runtime this aws-cdk-lib knows (cdk-nag's LambdaLatestVersion/AwsSolutions-L1 want it). */
export const NODE_RUNTIME = lambda.Runtime.NODEJS_24_X;

/**
 * A handler Lambda the way this project deploys them: NodejsFunction bundled by the local esbuild (never
 * Docker), arm64, X-Ray active, its own least-privilege role (no managed policies) and a log group with a
 * retention, Powertools configured through environment variables.
 */
export class HandlerFunction extends Construct {
  /** The function: a NodejsFunction in a source checkout, a Function on the prebuilt asset in the installed package. */
  readonly function: lambda.Function;
  readonly logGroup: logs.LogGroup;
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: HandlerFunctionProps) {
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, 'Logs', { retention: props.logRetention, removalPolicy: props.removalPolicy });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: iamText(`${props.description} (execution role)`),
    });
    this.logGroup.grantWrite(this.role);
    const define = { ...BUNDLING.define, ...props.define };
    const common: lambda.FunctionOptions = {
      description: props.description,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout ?? Duration.seconds(10),
      tracing: lambda.Tracing.ACTIVE,
      role: this.role,
      logGroup: this.logGroup,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      deadLetterQueue: props.deadLetterQueue,
      environment: {
        POWERTOOLS_SERVICE_NAME: props.serviceName,
        POWERTOOLS_METRICS_NAMESPACE: props.metricsNamespace,
        POWERTOOLS_LOG_LEVEL: 'INFO',
        ...(props.tracing ? tracingEnvironment(props.tracing) : {}),
        ...props.environment,
      },
      ...(props.tracing ? { layers: [collectorLayer(this, props.tracing.collectorLayerArn)] } : {}),
    };
    // The installed package deploys the bundle built with these very defines (dist/assets); a source
    // checkout bundles the TypeScript entry with the local esbuild.
    const prebuilt = prebuiltLambda(props.entry, define);
    const files = props.files && Object.keys(props.files).length ? stageFiles(props.files) : undefined;
    if (prebuilt) {
      const dir = files ? withFiles(prebuilt, files) : prebuilt;
      this.function = new lambda.Function(this, 'Function', { ...common, runtime: NODE_RUNTIME, handler: 'index.handler', code: lambda.Code.fromAsset(dir) });
    } else {
      if (!fs.existsSync(props.entry)) {
        throw new Error(`${this.node.path}: no prebuilt bundle of ${entryKey(props.entry)} with defines ${JSON.stringify(define)} in this package, and no source to bundle; use the default options of this part or build from the repository`);
      }
      this.function = new NodejsFunction(this, 'Function', {
        ...common,
        runtime: NODE_RUNTIME,
        entry: props.entry,
        handler: 'handler',
        projectRoot: PROJECT_ROOT,
        depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
        bundling: {
          ...BUNDLING,
          externalModules: [...BUNDLING.externalModules],
          define,
          // the asset hash is the output's, so a changed file deploys a new version
          ...(files ? { commandHooks: { beforeBundling: () => [], beforeInstall: () => [], afterBundling: (_in: string, out: string) => [`cp -R ${shellQuote(files)}/. ${shellQuote(out)}/`] } } : {}),
        },
      });
    }
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'Active tracing adds xray:PutTraceSegments/PutTelemetryRecords, which support no resource-level permissions.',
    });
  }
}
