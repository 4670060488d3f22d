import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface BundleRun {
  /** Handler results, one per event, in order (invoked one after another in one warm process). */
  results: unknown[];
  /** The first handler error's message, if any (later events are not sent). */
  error?: string;
  /** Milliseconds to require the bundle (module init). */
  initMs: number;
  stdout: string;
  stderr: string;
}

/**
 * What the Lambda runtime does with a Node.js bundle: require `index.js` in a fresh process once, then call
 * `handler(event, context)` for each event. The child process gets only the environment given here (plus
 * PATH), so a handler that depends on something the template does not set fails here too.
 */
const RUNNER = `
const fs = require('node:fs');
const [dir, eventsFile, outFile, remaining] = process.argv.slice(2);
const t0 = process.hrtime.bigint();
const mod = require(require('node:path').join(dir, 'index.js'));
const initMs = Number(process.hrtime.bigint() - t0) / 1e6;
(async () => {
  const results = [];
  let error;
  for (const [i, event] of JSON.parse(fs.readFileSync(eventsFile, 'utf8')).entries()) {
    const context = { functionName: 'bundle-test', awsRequestId: 'req-' + i, invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:bundle-test', memoryLimitInMB: '512', getRemainingTimeInMillis: () => Number(remaining) };
    try { results.push(await mod.handler(event, context)); } catch (e) { error = e && e.message || String(e); break; }
  }
  fs.writeFileSync(outFile, JSON.stringify({ results, error, initMs }));
})();
`;

/**
 * `remainingMs`: what the context's getRemainingTimeInMillis answers (a handler may budget its work by it);
 * `cwd`: the process's working directory (the Lambda runtime's is the code's, /var/task).
 */
export async function runBundle(dir: string, env: Record<string, string>, events: unknown[], timeoutMs = 60_000, remainingMs = 10_000, cwd?: string): Promise<BundleRun> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bundle-run-'));
  const runner = path.join(work, 'runner.js');
  const eventsFile = path.join(work, 'events.json');
  const outFile = path.join(work, 'out.json');
  fs.writeFileSync(runner, RUNNER);
  fs.writeFileSync(eventsFile, JSON.stringify(events));
  try {
    const child = spawn(process.execPath, [runner, dir, eventsFile, outFile, String(remainingMs)], { env: { PATH: process.env['PATH'] ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'], cwd });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    const code = await new Promise<number | null>((resolve, reject) => {
      const timer = setTimeout(() => (child.kill('SIGKILL'), reject(new Error(`bundle run timed out after ${timeoutMs} ms: ${stderr}`))), timeoutMs);
      child.on('exit', (c) => (clearTimeout(timer), resolve(c)));
    });
    if (!fs.existsSync(outFile)) throw new Error(`bundle process exited ${code} without a result:\n${stderr}\n${stdout}`);
    const out = JSON.parse(fs.readFileSync(outFile, 'utf8')) as Omit<BundleRun, 'stdout' | 'stderr'>;
    return { ...out, stdout, stderr };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/**
 * What the Lambda runtime puts in every function's environment, for a bundle run here: the region, the role's
 * credentials (for the local stand-ins), the function's name and an on-demand initialization (Powertools counts
 * a cold start only there).
 */
export function lambdaRuntimeEnv(credentials = { accessKeyId: 'test', secretAccessKey: 'test' }): Record<string, string> {
  return {
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    AWS_LAMBDA_FUNCTION_NAME: 'bundle-test',
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
  };
}

/** An API Gateway HTTP API (payload 2.0) event as the IAM-authorized $default route delivers it. */
export function apiEvent(method: string, rawPath: string, body?: unknown, opts: { userArn?: string; idempotencyKey?: string } = {}) {
  const text = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath,
    rawQueryString: '',
    headers: {
      host: 'abc123.execute-api.eu-west-1.amazonaws.com',
      'user-agent': 'migration-job/1.0',
      ...(text !== undefined ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) } : {}),
      ...(opts.idempotencyKey ? { 'idempotency-key': opts.idempotencyKey } : {}),
      'x-amz-date': '20260101T000000Z',
    },
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123',
      domainName: 'abc123.execute-api.eu-west-1.amazonaws.com',
      domainPrefix: 'abc123',
      http: { method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '203.0.113.7', userAgent: 'migration-job/1.0' },
      requestId: `r-${Math.random().toString(36).slice(2)}`,
      routeKey: '$default',
      stage: '$default',
      time: '01/Jan/2026:00:00:00 +0000',
      timeEpoch: 1767225600000,
      ...(opts.userArn
        ? { authorizer: { iam: { accessKey: 'ASIAEXAMPLE', accountId: '123456789012', callerId: 'AROAEXAMPLE:job-42', principalOrgId: null, userArn: opts.userArn, userId: 'AROAEXAMPLE:job-42' } } }
        : {}),
    },
    ...(text !== undefined ? { body: text } : {}),
    isBase64Encoded: false,
  };
}

/** An SNS event carrying a CloudWatch alarm state change, as the alert topic delivers it to a Lambda. */
export function snsAlarmEvent(alarmName: string, state: 'ALARM' | 'OK') {
  const message = {
    AlarmName: alarmName,
    AlarmDescription: '[critical] Migration phase failed. Runbook: A phase reported failure.',
    AWSAccountId: '123456789012',
    NewStateValue: state,
    NewStateReason: state === 'ALARM' ? 'Threshold Crossed: 1 datapoint [1.0] was greater than or equal to the threshold (1.0).' : 'Threshold Crossed: no datapoints were received for 1 period.',
    StateChangeTime: '2026-01-01T07:00:00.000+0000',
    Region: 'EU (Ireland)',
    OldStateValue: state === 'ALARM' ? 'OK' : 'ALARM',
    Trigger: { MetricName: 'PhaseFailed', Namespace: 'MigrationMonitor/dev', Statistic: 'SUM', Threshold: 1 },
  };
  return {
    Records: [
      {
        EventSource: 'aws:sns',
        EventVersion: '1.0',
        EventSubscriptionArn: 'arn:aws:sns:eu-west-1:123456789012:alerts:sub',
        Sns: {
          Type: 'Notification',
          MessageId: 'm-1',
          TopicArn: 'arn:aws:sns:eu-west-1:123456789012:alerts',
          Subject: `ALARM: "${alarmName}" in EU (Ireland)`,
          Message: JSON.stringify(message),
          Timestamp: '2026-01-01T07:00:00.000Z',
          SignatureVersion: '1',
          Signature: 'EXAMPLE',
          SigningCertUrl: 'https://sns.eu-west-1.amazonaws.com/cert.pem',
          UnsubscribeUrl: 'https://sns.eu-west-1.amazonaws.com/unsubscribe',
          MessageAttributes: {},
        },
      },
    ],
  };
}
