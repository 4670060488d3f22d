/**
 * Handler bundle size and module init time, bundled exactly as the CDK stack bundles them (HandlerFunction's
 * BUNDLING: minified CJS, AWS SDK external, zod imported as a namespace so its locales tree-shake away, GCP adapters defined away; the report
 * also without SMTP, as ReportFunction bundles it for SES; the validation handler with its default connector
 * drivers). Baseline in the same run: the same entry bundled
 * with NodejsFunction's plain defaults plus minify (no defines). Targets: ≤ 300 KB, own init ≤ 100 ms.
 *
 * Init = `require(index.js)` in a fresh Node process (the Lambda cold-start module phase), median of 5, as
 * wall-clock time and as the CPU time the process spent in it (process.cpuUsage: less sensitive to other load
 * on the machine, so the target is judged on it; "own" is still a difference of two noisy figures). "Own" subtracts the init of the runtime AWS SDK
 * packages the bundle actually loaded during its init.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { BUNDLING, esbuildOptions } from '../lib/constructs/aws/handler-function';
import { reportBundleDefine } from '../lib/constructs/aws/report-function';
import { SEARCH_PROXY_BUNDLE_DEFINE } from '../lib/constructs/aws/search-proxy';
import { TRACKER_API_BUNDLE_DEFINE } from '../lib/constructs/aws/tracker-api';
import { validationBundleDefine } from '../lib/constructs/aws/validation-function';
import { CONNECTOR_TYPES } from '../lib/core/validation/config';

const ROOT = path.join(__dirname, '..');
const OUT = path.join(ROOT, '.tmp', 'bench-bundles');
const TARGET_BYTES = 300 * 1024;
/** The hard limit on every Lambda bundle, opt-in variants included (test/lambda/bundles.test.ts, test/package/consumer.test.ts). */
const LIMIT_BYTES = 500 * 1024;
const TARGET_INIT_MS = 100;
const RUNS = 5;

/**
 * Every handler the AWS stack deploys, with the defines it is deployed with (HandlerFunction's, plus the
 * report's SES-only default and the validation handler's default connector drivers). Two opt-in variants
 * show what a setting costs: the report with SMTP, the validation handler with every connector driver.
 */
const ENTRIES: Array<{ name: string; file: string; define: Record<string, string>; optIn?: boolean }> = [
  { name: 'tracker-api', file: 'tracker-api', define: TRACKER_API_BUNDLE_DEFINE },
  { name: 'slack-notifier', file: 'slack-notifier', define: {} },
  { name: 'search-proxy', file: 'search-proxy', define: SEARCH_PROXY_BUNDLE_DEFINE },
  { name: 'log-ingest', file: 'log-ingest', define: {} },
  { name: 'report', file: 'report', define: reportBundleDefine(false) },
  { name: 'report+smtp', file: 'report', define: reportBundleDefine(true), optIn: true },
  { name: 'validate', file: 'validate', define: validationBundleDefine() },
  { name: 'validate+redis', file: 'validate', define: validationBundleDefine(['redis', 'file']), optIn: true },
  // what a config file without postgres or redis connectors deploys (ValidationFunction follows the file's types)
  { name: 'validate-file', file: 'validate', define: validationBundleDefine(['dynamodb', 'http-json', 'file']) },
  { name: 'validate+all', file: 'validate', define: validationBundleDefine(CONNECTOR_TYPES), optIn: true },
];

async function bundle(entry: string, outfile: string, define: Record<string, string> = {}): Promise<number> {
  await build(esbuildOptions(entry, outfile, define));
  return fs.statSync(outfile).size;
}

/**
 * Median milliseconds to require the modules in a fresh process (env is enough for module init to succeed),
 * and the runtime AWS SDK packages that init loaded (a bundle may load some of them only on first use).
 */
function initMs(modules: string[]): { ms: number; cpu: number; sdk: string[] } {
  const script = `const c=process.cpuUsage();const t=process.hrtime.bigint();for(const m of ${JSON.stringify(modules)})require(m);const ms=Number(process.hrtime.bigint()-t)/1e6;const u=process.cpuUsage(c);const cpu=(u.user+u.system)/1000;const sdk=[...new Set(Object.keys(require.cache).map((p)=>(p.match(/node_modules\\/(@aws-sdk\\/[^/]+)\\//)||[])[1]).filter(Boolean))];process.stdout.write(JSON.stringify({ms,cpu,sdk}))`;
  const env = {
    PATH: process.env['PATH'] ?? '',
    AWS_REGION: 'eu-west-1',
    TABLE_NAME: 'bench',
    SLACK_WEBHOOK_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:bench',
    POWERTOOLS_SERVICE_NAME: 'migration-monitor',
    POWERTOOLS_METRICS_NAMESPACE: 'bench',
  };
  const runs: Array<{ ms: number; cpu: number; sdk: string[] }> = [];
  for (let i = 0; i < RUNS; i++) {
    const r = spawnSync(process.execPath, ['--no-warnings', '-e', script], { env, cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
    if (r.status !== 0) throw new Error(`init of ${modules.join(', ')} failed: ${r.stderr.slice(-500)}`);
    runs.push(JSON.parse(r.stdout) as { ms: number; cpu: number; sdk: string[] });
  }
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(RUNS / 2)]!;
  return { ms: median(runs.map((r) => r.ms)), cpu: median(runs.map((r) => r.cpu)), sdk: runs[0]!.sdk };
}

/** The external modules (runtime-provided AWS SDK) a bundle requires anywhere in its code. */
const externalsOf = (file: string) => [...new Set([...fs.readFileSync(file, 'utf8').matchAll(/require\("(@aws-sdk\/[^"]+)"\)/g)].map((m) => m[1]!))];

const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;

export async function run(): Promise<void> {
  fs.mkdirSync(OUT, { recursive: true });
  console.log('init = require(index.js) in a fresh process, median of 5 (wall ms, and CPU ms of the process); "own" subtracts the runtime AWS SDK modules it loads.');
  console.log(`handler         bundle      gzip  init(ms)   own(ms)  cpu(ms) own cpu | baseline bundle  init(ms)  cpu(ms) | size ratio  cpu ratio | targets ≤${TARGET_BYTES / 1024} KB, own init CPU ≤${TARGET_INIT_MS} ms`);
  for (const { name, file: source, define, optIn } of ENTRIES) {
    const entry = path.join(ROOT, 'lambda', `${source}.ts`);
    const file = path.join(OUT, `${name}.js`);
    const baseFile = path.join(OUT, `${name}.baseline.js`);
    const size = await bundle(entry, file, { ...BUNDLING.define, ...define });
    const baseSize = await bundle(entry, baseFile);
    const gz = gzipSync(fs.readFileSync(file)).length;
    const { ms: init, cpu, sdk: loaded } = initMs([file]);
    // only the SDK packages the bundle itself requires and that its init really loaded
    const direct = externalsOf(file).filter((m) => loaded.includes(m));
    const sdk = direct.length ? initMs(direct) : { ms: 0, cpu: 0 };
    const own = Math.max(0, init - sdk.ms);
    const ownCpu = Math.max(0, cpu - sdk.cpu);
    const base = initMs([baseFile]);
    const ok = size > LIMIT_BYTES ? `OVER ${LIMIT_BYTES / 1024} KB LIMIT` : size <= TARGET_BYTES && ownCpu <= TARGET_INIT_MS ? 'ok' : optIn ? 'over target (opt-in)' : 'OVER TARGET';
    console.log(
      `${name.padEnd(15)} ${kb(size).padStart(9)} ${kb(gz).padStart(9)} ${init.toFixed(1).padStart(8)} ${own.toFixed(1).padStart(9)} ${cpu.toFixed(1).padStart(8)} ${ownCpu.toFixed(1).padStart(7)} | ${kb(baseSize).padStart(14)} ${base.ms.toFixed(1).padStart(9)} ${base.cpu.toFixed(1).padStart(8)} | ${(size / baseSize).toFixed(2).padStart(10)} ${(cpu / base.cpu).toFixed(2).padStart(10)} | ${ok}`,
    );
  }
  console.log('opt-in rows: report+smtp = ReportFunction with email via SMTP; validate+redis = connectors redis + file; validate+all = every connector type (postgres and redis drivers).');
  console.log('validate = a config in SSM (default drivers, postgres included); validate-file = a config file using dynamodb/http-json/file connectors only.');
  fs.rmSync(OUT, { recursive: true, force: true });
}
