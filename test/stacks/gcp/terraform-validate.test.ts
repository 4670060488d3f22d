/**
 * Runs terraform itself on the synthesized stack, when a terraform binary is on PATH:
 * - `terraform fmt` parses the HCL output (no provider needed): the `--hcl` way out must be valid HCL;
 * - `terraform init -backend=false && terraform validate` checks the JSON against the google provider's
 *   schema. It needs the provider 6.50.0: from a plugin cache (TF_PLUGIN_CACHE_DIR, ~/.terraform.d/plugins)
 *   or the registry (set MM_TF_VALIDATE=1 where the registry is reachable).
 * Without terraform these tests are skipped, and their titles say so.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { synthGcp } from '../../../stacks/gcp/main';

const tfEnv = { ...process.env, CHECKPOINT_DISABLE: '1', TF_IN_AUTOMATION: '1' } as NodeJS.ProcessEnv;
// A TF_CLI_CONFIG_FILE pointing at a missing file only produces warnings; drop it.
if (tfEnv['TF_CLI_CONFIG_FILE'] && !existsSync(tfEnv['TF_CLI_CONFIG_FILE'])) delete tfEnv['TF_CLI_CONFIG_FILE'];

const terraform = (args: string[], cwd: string, input?: string) => spawnSync('terraform', args, { cwd, env: tfEnv, input, encoding: 'utf8', timeout: 120_000 });
const hasTerraform = spawnSync('terraform', ['version'], { env: tfEnv, encoding: 'utf8' }).status === 0;

function providerCached(): boolean {
  const dirs = [tfEnv['TF_PLUGIN_CACHE_DIR'], path.join(homedir(), '.terraform.d', 'plugins')].filter((d): d is string => !!d);
  return dirs.some((d) => {
    const p = path.join(d, 'registry.terraform.io', 'hashicorp', 'google');
    return existsSync(p) && readdirSync(p).includes('6.50.0');
  });
}
const canValidate = hasTerraform && (providerCached() || process.env['MM_TF_VALIDATE'] === '1');

function synth(args: string[]): string {
  const out = mkdtempSync(path.join(tmpdir(), 'mm-gcp-tf-'));
  const hcl = process.env['SYNTH_HCL_OUTPUT'];
  try {
    const name = synthGcp([...args, `--outdir=${out}`, '--skip-bundling', '--env=prod'], {
      MM_GCP_PROJECT: 'acme-migration',
      MM_ALERT_EMAILS: 'oncall@example.com',
      // every optional part on, so terraform reads all of it
      MM_TRACKER_URL: 'https://abc123.execute-api.eu-west-1.amazonaws.com',
      MM_LOG_INGEST_FILTER: 'resource.type="cloud_run_job" AND resource.labels.job_name="tenant-migrator"',
    });
    return path.join(out, 'stacks', name);
  } finally {
    if (hcl === undefined) delete process.env['SYNTH_HCL_OUTPUT'];
    else process.env['SYNTH_HCL_OUTPUT'] = hcl;
  }
}

describe('terraform on the synthesized GCP stack', () => {
  (hasTerraform ? it : it.skip)(`terraform fmt parses the --hcl output${hasTerraform ? '' : ' (skipped: no terraform binary on PATH)'}`, () => {
    const dir = synth(['--hcl']);
    const r = terraform(['fmt', '-write=false', '-'], dir, readFileSync(path.join(dir, 'cdk.tf'), 'utf8'));
    expect(r.stderr).not.toMatch(/Error/);
    expect(r.status).toBe(0);
  });

  (canValidate ? it : it.skip)(
    `terraform validate accepts the JSON${canValidate ? '' : hasTerraform ? ' (skipped: google provider 6.50.0 not in a plugin cache; MM_TF_VALIDATE=1 to fetch it)' : ' (skipped: no terraform binary on PATH)'}`,
    () => {
      const dir = synth([]);
      const init = terraform(['init', '-backend=false', '-input=false', '-no-color'], dir);
      expect(init.stderr).toBe('');
      const v = terraform(['validate', '-no-color'], dir);
      expect(v.stdout + v.stderr).toMatch(/Success! The configuration is valid/);
    },
  );
});
