/**
 * No function in either synthesized output runs on a runtime its cloud has decommissioned (or deprecated,
 * for Lambda: no new functions). The list carries the dates; add a runtime when its date is announced.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { buildApp } from '../../stacks/aws/main';
import { configFor, stackJson } from './gcp/helpers';
import { AWS_VARIANTS, cdkJsonContext } from './variants';

/** Runtime id → the day it stopped being deployable, and where that is written. */
const REFUSED: Record<string, { since: string; source: string }> = {
  // Cloud Run functions (docs.cloud.google.com/run/docs/runtimes/function-runtimes): no create or update after decommission.
  nodejs16: { since: '2025-01-30', source: 'Cloud Run functions: decommissioned' },
  nodejs18: { since: '2025-10-30', source: 'Cloud Run functions: decommissioned' },
  nodejs20: { since: '2026-10-30', source: 'Cloud Run functions: decommissioned' },
  // AWS Lambda runtime deprecation (docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html): no security patches after.
  'nodejs16.x': { since: '2024-06-12', source: 'Lambda: deprecated' },
  'nodejs18.x': { since: '2025-09-01', source: 'Lambda: deprecated' },
  'nodejs20.x': { since: '2026-04-30', source: 'Lambda: deprecated' },
};

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'runtimes-test-'));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

describe('runtimes', () => {
  it('no Lambda of any AWS variant uses a refused runtime', () => {
    const used: string[] = [];
    for (const context of [AWS_VARIANTS.dev, AWS_VARIANTS.everything]) {
      const app = new App({ outdir: fs.mkdtempSync(path.join(scratch, 'aws-')), analyticsReporting: false, builtinCloudFormationValidation: false, context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [], ...context } });
      const { stack } = buildApp(app);
      const t = app.synth().getStackByName(stack.stackName).template as { Resources: Record<string, any> };
      for (const r of Object.values(t.Resources)) if (r.Type === 'AWS::Lambda::Function') used.push(r.Properties.Runtime);
    }
    expect(used.length).toBeGreaterThan(5);
    expect(used.filter((r) => r in REFUSED).map((r) => `${r}: ${REFUSED[r].source} ${REFUSED[r].since}`)).toEqual([]);
  }, 120_000);

  it('no Cloud Run function of any GCP environment uses a refused runtime', () => {
    const used: string[] = [];
    for (const env of ['dev', 'staging', 'prod']) {
      const json = stackJson(configFor(env));
      for (const f of Object.values<any>(json.resource?.google_cloudfunctions2_function ?? {})) used.push(f.build_config.runtime);
    }
    expect(used.length).toBeGreaterThan(2);
    expect(used.filter((r) => r in REFUSED).map((r) => `${r}: ${REFUSED[r].source} ${REFUSED[r].since}`)).toEqual([]);
  }, 120_000);

  it('every date on the list has passed (a future date belongs in a reminder, not here)', () => {
    for (const { since } of Object.values(REFUSED)) expect(new Date(since).getTime()).toBeLessThanOrEqual(Date.now());
  });
});
