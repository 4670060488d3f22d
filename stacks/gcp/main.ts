/**
 * CDKTF app entry (cdktf.json: `npx tsx stacks/gcp/main.ts`). Synthesizes the GCP stack of one environment
 * (MM_ENV, default dev) into cdktf.out/ with no terraform binary and no credentials.
 *   npm run synth:gcp                      Terraform JSON
 *   npm run synth:gcp -- --hcl             HCL instead (the way out of CDKTF)
 *   MM_ENV=prod npm run synth:gcp          another environment (see docs/gcp.md for every setting)
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { App } from 'cdktf';
import { GcpConfigError, loadGcpConfig, type GcpConfig } from './config';
import { BundleError } from '../../lib/constructs/gcp/bundle';
import { GcpCiStack } from './ci-stack';
import { GcpMonitoringStack } from './monitoring-stack';

export function synthGcp(argv: string[] = process.argv.slice(2), env: NodeJS.ProcessEnv = process.env): string {
  const unknown = argv.filter((a) => !['--hcl', '--skip-bundling'].includes(a) && !a.startsWith('--env=') && !a.startsWith('--outdir='));
  if (unknown.length) throw new GcpConfigError(`unknown argument(s) ${unknown.join(' ')}: use --env=dev|staging|prod, --hcl, --outdir=DIR, --skip-bundling`);
  const arg = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const cfg = loadGcpConfig(arg('env') ?? env['MM_ENV'] ?? 'dev', env);
  const hcl = argv.includes('--hcl') || env['SYNTH_HCL_OUTPUT'] === 'true';
  const outdir = arg('outdir') ?? env['CDKTF_OUTDIR'] ?? 'cdktf.out';
  const skipBundling = argv.includes('--skip-bundling') || env['MM_SKIP_BUNDLING'] === '1';
  // For HCL, a JSON synth of the same config first (no bundling: only its strings are read) tells what each
  // string attribute must say; cdktf's HCL writer loses backslashes (see repairStrings).
  const reference = hcl ? synthOnce(cfg, mkdtempSync(path.join(tmpdir(), 'mm-gcp-json-')), false, true) : undefined;
  const repository = env['MM_CI_REPOSITORY'];
  const projectNumber = env['MM_GCP_PROJECT_NUMBER'];
  if (repository && (!projectNumber || !cfg.project)) throw new GcpConfigError('MM_CI_REPOSITORY needs MM_GCP_PROJECT_NUMBER and MM_GCP_PROJECT (the deploy identity lives in that project)');
  const ci = repository && projectNumber && cfg.project ? { repository, projectNumber, project: cfg.project, region: cfg.region } : undefined;
  const dir = synthOnce(cfg, outdir, hcl, skipBundling, ci);
  finishOutput(dir, hcl, reference);
  if (reference) rmSync(path.dirname(path.dirname(reference)), { recursive: true, force: true });
  return cfg.stackName;
}

/** One synth of the stack; returns its folder. cdktf 0.21 reads the HCL switch from the environment when a stack is created. */
function synthOnce(cfg: GcpConfig, outdir: string, hcl: boolean, skipBundling: boolean, ci?: ConstructorParameters<typeof GcpCiStack>[1]): string {
  const before = process.env['SYNTH_HCL_OUTPUT'];
  if (hcl) process.env['SYNTH_HCL_OUTPUT'] = 'true';
  else delete process.env['SYNTH_HCL_OUTPUT'];
  try {
    const app = new App({ outdir, hclOutput: hcl, context: { excludeStackIdFromLogicalIds: 'true', allowSepCharsInLogicalIds: 'true' } });
    new GcpMonitoringStack(app, cfg, { skipBundling });
    if (ci) new GcpCiStack(app, ci);
    app.synth();
  } finally {
    if (before === undefined) delete process.env['SYNTH_HCL_OUTPUT'];
    else process.env['SYNTH_HCL_OUTPUT'] = before;
  }
  return path.join(outdir, 'stacks', cfg.stackName);
}

/**
 * cdktf 0.21's HCL writer escapes `"` but not `\\`, and leaves a `"` that follows a backslash alone: a string
 * holding `\\"` (the dashboard JSON's quoted filters) comes out as different, broken text. Every such string of
 * the JSON synth is written again as a correctly escaped HCL string (JSON string escapes are HCL's).
 */
function repairStrings(hcl: string, json: unknown): string {
  const strings = new Set<string>();
  const walk = (v: unknown) => {
    if (typeof v === 'string') {
      if (v.includes('\\') && !v.includes('${') && !/[\r\n]/.test(v)) strings.add(v);
    } else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(json);
  let out = hcl;
  for (const s of strings) out = out.split(`"${s.replace(/(?<!\\)"/g, '\\"')}"`).join(JSON.stringify(s));
  return out;
}

/**
 * cdktf writes multi-line strings as `<<EOF` heredocs, whose value gains a trailing newline the JSON synth does
 * not have (every alert's documentation would differ by one character). Quoted strings with escapes say
 * exactly the same as the JSON; `${`/`%{` sequences mean the same in both forms and are left alone.
 */
export function withoutHeredocs(hcl: string): string {
  return hcl.replace(/<<EOF\n([\s\S]*?)\nEOF(?=\n)/g, (_m, text: string) => `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\r/g, '\\r').replace(/\t/g, '\\t').replace(/\n/g, '\\n')}"`);
}

/**
 * One format per stack folder: an HCL synth removes the cdk.tf.json of an earlier JSON synth (and the other
 * way round), or Terraform would read every resource twice. The HCL is formatted with `terraform fmt` so it
 * is canonical from the first commit of a hand-maintained copy; without terraform on PATH the synth says so.
 */
function finishOutput(dir: string, hcl: boolean, reference?: string): void {
  const stale = path.join(dir, hcl ? 'cdk.tf.json' : 'cdk.tf');
  if (existsSync(stale)) rmSync(stale);
  if (!hcl) return;
  const file = path.join(dir, 'cdk.tf');
  let text = withoutHeredocs(readFileSync(file, 'utf8'));
  if (reference) text = repairStrings(text, JSON.parse(readFileSync(path.join(reference, 'cdk.tf.json'), 'utf8')));
  writeFileSync(file, text);
  const { TF_CLI_CONFIG_FILE: _ignored, ...tfEnv } = process.env; // fmt reads no CLI config; a dangling one only warns
  const r = spawnSync('terraform', ['fmt', '-'], { input: readFileSync(file, 'utf8'), encoding: 'utf8', env: { ...tfEnv, CHECKPOINT_DISABLE: '1' } });
  if (r.error || r.status !== 0) {
    process.stderr.write(`note: ${file} is not formatted (terraform fmt ${r.error ? 'is not installed' : `failed: ${r.stderr.trim()}`}); run \`terraform fmt\` on it\n`);
    return;
  }
  writeFileSync(file, r.stdout);
}

if (require.main === module) {
  try {
    const name = synthGcp();
    process.stdout.write(`synthesized ${name} into ${process.argv.find((a) => a.startsWith('--outdir='))?.slice(9) ?? 'cdktf.out'}/stacks/${name}\n`);
  } catch (e) {
    if (e instanceof GcpConfigError || e instanceof BundleError) {
      process.stderr.write(`error: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
}
