/**
 * CDKTF app entry (cdktf.json: `npx tsx stacks/gcp/main.ts`). Synthesizes the GCP stack of one environment
 * (MM_ENV, default dev) into cdktf.out/ with no terraform binary and no credentials.
 *   npm run synth:gcp                      Terraform JSON
 *   npm run synth:gcp -- --hcl             HCL instead (the way out of CDKTF)
 *   MM_ENV=prod npm run synth:gcp          another environment (see docs/gcp.md for every setting)
 */
import { App } from 'cdktf';
import { GcpConfigError, loadGcpConfig } from './config';
import { BundleError } from '../../lib/constructs/gcp/bundle';
import { GcpMonitoringStack } from './monitoring-stack';

export function synthGcp(argv: string[] = process.argv.slice(2), env: NodeJS.ProcessEnv = process.env): string {
  const unknown = argv.filter((a) => !['--hcl', '--skip-bundling'].includes(a) && !a.startsWith('--env=') && !a.startsWith('--outdir='));
  if (unknown.length) throw new GcpConfigError(`unknown argument(s) ${unknown.join(' ')}: use --env=dev|staging|prod, --hcl, --outdir=DIR, --skip-bundling`);
  const arg = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const cfg = loadGcpConfig(arg('env') ?? env['MM_ENV'] ?? 'dev', env);
  const hcl = argv.includes('--hcl') || env['SYNTH_HCL_OUTPUT'] === 'true';
  // cdktf 0.21 reads the HCL switch from the environment when a stack is created (the App option alone only
  // renames the file), so set it for both.
  if (hcl) process.env['SYNTH_HCL_OUTPUT'] = 'true';
  const app = new App({
    outdir: arg('outdir') ?? env['CDKTF_OUTDIR'] ?? 'cdktf.out',
    hclOutput: hcl,
    context: { excludeStackIdFromLogicalIds: 'true', allowSepCharsInLogicalIds: 'true' },
  });
  new GcpMonitoringStack(app, cfg, { skipBundling: argv.includes('--skip-bundling') || env['MM_SKIP_BUNDLING'] === '1' });
  app.synth();
  return cfg.stackName;
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
