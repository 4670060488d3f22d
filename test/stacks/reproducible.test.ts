/**
 * Same input → the same bytes: two synths of each cloud, bundling on, compared file by file (templates,
 * Terraform JSON, Lambda bundles, Cloud Run source zips). A zip with entry timestamps would make every plan
 * replace the function sources.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { buildApp } from '../../stacks/aws/main';
import { synthGcp } from '../../stacks/gcp/main';
import { CI_ENV } from './gcp/helpers';
import { cdkJsonContext, EVERYTHING_CONTEXT } from './variants';

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'reproducible-test-'));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

/** The first difference of two text files, to say what moved. */
function firstDifference(a: string, b: string): string {
  const x = fs.readFileSync(a, 'utf8');
  const y = fs.readFileSync(b, 'utf8');
  let i = 0;
  while (i < x.length && x[i] === y[i]) i++;
  return `at ${i}: ${JSON.stringify(x.slice(Math.max(0, i - 80), i + 80))} vs ${JSON.stringify(y.slice(Math.max(0, i - 80), i + 80))}`;
}

/** Files whose bytes differ between two trees, with the first difference of each (text) file. */
function differences(a: { dir: string; files: Record<string, string> }, b: { dir: string; files: Record<string, string> }): string[] {
  const names = [...new Set([...Object.keys(a.files), ...Object.keys(b.files)])].sort();
  return names
    .filter((n) => a.files[n] !== b.files[n])
    .map((n) => (a.files[n] && b.files[n] && /\.(json|tf|js)$/.test(n) ? `${n} ${firstDifference(path.join(a.dir, n), path.join(b.dir, n))}` : `${n} differs`));
}

/** Every file under a directory → sha256 of its bytes (relative paths, sorted). */
function digest(dir: string, skip: (rel: string) => boolean = () => false): { dir: string; files: Record<string, string> } {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(d, e.name);
      const rel = path.relative(dir, p);
      if (skip(rel)) continue;
      if (e.isDirectory()) walk(p);
      else out[rel] = createHash('sha256').update(fs.readFileSync(p)).digest('hex');
    }
  };
  walk(dir);
  return { dir, files: out };
}

describe('reproducible synth', () => {
  it('AWS: two synths (bundling on, every part) give identical templates and assets', () => {
    const synth = () => {
      const outdir = fs.mkdtempSync(path.join(scratch, 'aws-'));
      const app = new App({ outdir, analyticsReporting: false, builtinCloudFormationValidation: false, context: { ...cdkJsonContext(), ...EVERYTHING_CONTEXT } });
      buildApp(app);
      app.synth();
      // tree.json and *.metadata.json are never deployed (metadata holds construct creation stacks with the
      // checkout's absolute paths); templates, asset manifests, the manifest and every asset must match.
      return digest(outdir, (rel) => rel === 'tree.json' || rel.endsWith('.metadata.json'));
    };
    const a = synth();
    const b = synth();
    expect(Object.keys(a.files).filter((f) => /^asset\./.test(f)).length).toBeGreaterThan(5);
    expect(differences(a, b)).toEqual([]);
  }, 240_000);

  it('GCP: two synths (bundling on) give identical Terraform JSON and source zips', () => {
    const synth = () => {
      const outdir = fs.mkdtempSync(path.join(scratch, 'gcp-'));
      synthGcp(['--env=prod', `--outdir=${outdir}`], { ...CI_ENV, MM_LOG_INGEST_FILTER: 'resource.type="cloud_run_job"' });
      return digest(outdir);
    };
    const a = synth();
    const b = synth();
    expect(Object.keys(a.files).filter((f) => f.endsWith('.zip')).length).toBeGreaterThanOrEqual(4);
    expect(differences(a, b)).toEqual([]);
  }, 240_000);
});
