/**
 * The daily report with e-mail over SMTP, as ReportFunction bundles it for `email.via: 'smtp'` (HandlerFunction's
 * esbuild options and defines, SMTP kept), run from its bundle in a fresh Node process as the Lambda runtime
 * does, against a real smtp-server that offers STARTTLS with a certificate the process trusts
 * (NODE_EXTRA_CA_CERTS) and wants AUTH; the password comes from Secrets Manager (served locally), the
 * migrations from the real tracker API.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { build } from 'esbuild';
import { SMTPServer } from 'smtp-server';
import { BUNDLING, esbuildOptions } from '../../lib/constructs/aws/handler-function';
import { reportBundleDefine } from '../../lib/constructs/aws/report-function';
import { secretsGetSecretValue, startAwsJsonServer, type AwsJsonServer } from '../adapters/aws/aws-json-server';
import { freePort } from '../support/ports';
import { decodeHeader, parseMime } from '../support/smtp';
import { startTrackerServer, type TrackerServer } from '../support/tracker-server';
import { LAMBDA_BUNDLE_TARGET_BYTES } from './bundle-helpers';
import { lambdaRuntimeEnv, runBundle } from './bundle-runner';

const ROOT = path.join(__dirname, '../..');
const PASSWORD_SECRET = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:migration/smtp-password';
let dir: string;
let tracker: TrackerServer;
let aws: AwsJsonServer;
let server: SMTPServer;
let port: number;
const received: Array<{ user?: string; secure: boolean; from: string; to: string[]; raw: string }> = [];

beforeAll(async () => {
  // under node_modules, so the bundle's external @aws-sdk/* resolves as the Lambda runtime provides it
  dir = fs.mkdtempSync(path.join(ROOT, 'node_modules/.cache-mm-report-smtp-'));
  await build(esbuildOptions(path.join(ROOT, 'lambda/report.ts'), path.join(dir, 'index.js'), { ...BUNDLING.define, ...reportBundleDefine(true) }));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')], { stdio: 'ignore' });
  port = await freePort();
  let user: string | undefined;
  server = new SMTPServer({
    logger: false,
    key: fs.readFileSync(path.join(dir, 'key.pem')),
    cert: fs.readFileSync(path.join(dir, 'cert.pem')),
    authMethods: ['PLAIN', 'LOGIN'],
    onAuth: (a, _s, cb) => ((user = a.username), a.username === 'reports' && a.password === 'relay-s3cret' ? cb(null, { user: a.username }) : cb(new Error('535 bad credentials'))),
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        received.push({ user, secure: session.secure, from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks).toString('utf8') });
        cb();
      });
    },
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  tracker = await startTrackerServer('tok');
  await tracker.tracker.initialize('orders-db', { name: 'Orders DB → Aurora' });
  await tracker.tracker.apply('orders-db', { action: 'create_alert', severity: 'warning', message: '.dotted alert message' });
  aws = await startAwsJsonServer({ 'secretsmanager.GetSecretValue': secretsGetSecretValue({ [PASSWORD_SECRET]: 'relay-s3cret' }) });
}, 60_000);

afterAll(async () => {
  await new Promise<void>((r) => server?.close(() => r()));
  await tracker?.stop();
  await aws?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

it('keeps the SMTP report bundle within 300 KB, without nodemailer\'s mailer and MIME-type table', () => {
  const code = fs.readFileSync(path.join(dir, 'index.js'), 'utf8');
  expect(code.length).toBeLessThanOrEqual(LAMBDA_BUNDLE_TARGET_BYTES);
  expect(code).not.toContain('application/vnd.'); // nodemailer's MIME-type table
  expect(code).toContain('STARTTLS');
});

it('delivers the report over STARTTLS with AUTH, the password read from Secrets Manager, one message per migration', async () => {
  const env = {
    ...lambdaRuntimeEnv(),
    AWS_ENDPOINT_URL_SECRETS_MANAGER: aws.url,
    POWERTOOLS_SERVICE_NAME: 'migration-monitor',
    POWERTOOLS_METRICS_NAMESPACE: 'MigrationMonitor/test',
    NODE_EXTRA_CA_CERTS: path.join(dir, 'cert.pem'),
    MIGRATION_MONITOR_URL: tracker.url,
    MIGRATION_MONITOR_TOKEN: 'tok',
    REPORT_OUTPUTS: 'email',
    REPORT_FORMAT: 'html',
    REPORT_RECIPIENTS: 'oncall@example.com,cto@example.com',
    REPORT_EMAIL_FROM: 'Migration Monitor <reports@example.com>',
    REPORT_EMAIL_VIA: 'smtp',
    REPORT_STATE_DIR: path.join(dir, 'state'),
    SMTP_HOST: '127.0.0.1',
    SMTP_PORT: String(port),
    SMTP_USER: 'reports',
    SMTP_PASSWORD_SECRET_ARN: PASSWORD_SECRET,
  };
  const run = await runBundle(dir, env, [{ source: 'schedule', kind: 'report' }]);
  expect(run.error).toBeUndefined();
  expect(run.results[0]).toMatchObject({ ok: true });
  expect(received).toHaveLength(1);
  const mail = received[0]!;
  expect(mail).toMatchObject({ user: 'reports', secure: true, from: 'reports@example.com', to: ['oncall@example.com', 'cto@example.com'] });
  const { headers, parts } = parseMime(mail.raw);
  expect(decodeHeader(headers['subject']!)).toContain('Orders DB → Aurora');
  expect(headers['x-migration-report-id']).toMatch(/^orders-db\/\d{4}-\d{2}-\d{2}$/);
  const text = parts.find((p) => p.headers['content-type']!.startsWith('text/plain'))!.body;
  expect(text).toContain('.dotted alert message');
  expect(parts.find((p) => p.headers['content-type']!.startsWith('text/html'))!.body).toMatch(/<html/i);
  // the ColdStart metric names the function
  const cold = run.stdout.split('\n').filter((l) => l.includes('"ColdStart"')).map((l) => JSON.parse(l));
  expect(cold).toEqual([expect.objectContaining({ ColdStart: 1, function_name: 'bundle-test' })]);
});
