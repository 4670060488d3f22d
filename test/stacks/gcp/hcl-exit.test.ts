/**
 * The way out of CDKTF: `synth --hcl` writes only HCL (a JSON synth before it leaves no cdk.tf.json behind,
 * which would make Terraform see every resource twice), the HCL is `terraform fmt`-canonical, and parsed back
 * (@cdktf/hcl2json) it says what the JSON synth says.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse } from '@cdktf/hcl2json';
import { synthGcp } from '../../../stacks/gcp/main';
import { CI_ENV } from './helpers';

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'hcl-exit-test-'));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

const ENV = { ...CI_ENV, MM_LOG_INGEST_FILTER: 'resource.type="cloud_run_job"' };
const stackDir = (outdir: string) => path.join(outdir, 'stacks', 'migration-monitor-gcp-prod');
/** terraform without the CLI config this machine may point at (fmt needs no provider and no network). */
const terraform = (args: string[], cwd: string) => {
  const { TF_CLI_CONFIG_FILE: _cfg, ...env } = process.env;
  const r = spawnSync('terraform', args, { cwd, encoding: 'utf8', env: { ...env, CHECKPOINT_DISABLE: '1' } });
  if (r.error) throw new Error(`terraform is not installed: ${r.error.message}`);
  return r;
};

/**
 * One shape for both: hcl2json gives every block as a list of objects; the JSON synth gives single blocks as
 * objects. Lists of one become the element; cdktf's "//" metadata comments are dropped, and so are empty
 * lists (an empty list of nested blocks is no block at all in HCL, e.g. `secret_environment_variables`).
 */
function normal(v: unknown): unknown {
  if (Array.isArray(v)) return v.length === 1 && typeof v[0] === 'object' && v[0] !== null ? normal(v[0]) : v.map(normal);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).filter(([k, x]) => k !== '//' && !(Array.isArray(x) && x.length === 0)).sort(([a], [b]) => a.localeCompare(b)).map(([k, x]) => [k, normal(x)]));
  return v;
}

let outdir: string;
let jsonSynth: Record<string, any>;

beforeAll(() => {
  outdir = fs.mkdtempSync(path.join(scratch, 'out-'));
  synthGcp(['--env=prod', `--outdir=${outdir}`, '--skip-bundling'], ENV);
  jsonSynth = JSON.parse(fs.readFileSync(path.join(stackDir(outdir), 'cdk.tf.json'), 'utf8'));
  synthGcp(['--env=prod', `--outdir=${outdir}`, '--skip-bundling', '--hcl'], ENV); // into the same folder, as a user would
}, 120_000);

describe('synth --hcl', () => {
  it('leaves only HCL in the stack folder', () => {
    const files = fs.readdirSync(stackDir(outdir)).filter((f) => f.startsWith('cdk.tf'));
    expect(files).toEqual(['cdk.tf']);
  });

  it('is terraform fmt-canonical', () => {
    const r = terraform(['fmt', '-check', '-diff', 'cdk.tf'], stackDir(outdir));
    expect(r.stdout.slice(0, 2000)).toBe('');
    expect(r.status).toBe(0);
  });

  it('parses back to the JSON synth', async () => {
    const hcl = await parse('cdk.tf', fs.readFileSync(path.join(stackDir(outdir), 'cdk.tf'), 'utf8'));
    const a = normal(hcl) as Record<string, any>;
    const b = normal(jsonSynth) as Record<string, any>;
    expect(Object.keys(a).sort()).toEqual(Object.keys(b).sort());
    for (const type of Object.keys(b.resource)) expect([type, a.resource[type]]).toEqual([type, b.resource[type]]);
    expect(a).toEqual(b);
  });
});
