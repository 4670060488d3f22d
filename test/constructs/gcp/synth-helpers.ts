import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Testing, TerraformStack } from 'cdktf';
import { GoogleProvider } from '@cdktf/provider-google/lib/provider';
import type { Construct } from 'constructs';

export type TfJson = { resource?: Record<string, Record<string, Record<string, unknown>>>; data?: Record<string, Record<string, Record<string, unknown>>>; [k: string]: unknown };

/** Synthesize constructs built by `fn` inside a stack with a Google provider, as parsed Terraform JSON. */
export function synthJson(fn: (stack: TerraformStack) => void): TfJson {
  const app = Testing.app({ outdir: mkdtempSync(join(tmpdir(), 'mm-gcp-test-')) });
  const stack = new TerraformStack(app, 'test');
  new GoogleProvider(stack, 'google', { project: 'test-project', region: 'europe-west1' });
  fn(stack);
  return JSON.parse(Testing.synth(stack)) as TfJson;
}

/** All resources of one type: `[logicalName, config]`. */
export function resources(json: TfJson, type: string): Array<[string, Record<string, any>]> {
  return Object.entries(json.resource?.[type] ?? {}) as Array<[string, Record<string, any>]>;
}

export function only(json: TfJson, type: string): Record<string, any> {
  const r = resources(json, type);
  if (r.length !== 1) throw new Error(`expected exactly one ${type}, found ${r.length}`);
  return r[0]![1];
}

export const placement = { project: 'test-project', region: 'europe-west1', env: 'prod' as const, namePrefix: 'mm-prod', labels: { app: 'migration-monitor', env: 'prod' } };

export type ScopeFn = (scope: Construct) => void;
