import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Testing } from 'cdktf';
import { loadGcpConfig, type GcpConfig } from '../../../stacks/gcp/config';
import { GcpMonitoringStack } from '../../../stacks/gcp/monitoring-stack';

/** A fully configured environment, as CI would synthesize it. */
export const CI_ENV = {
  MM_GCP_PROJECT: 'acme-migration',
  MM_ALERT_EMAILS: 'oncall@example.com,lead@example.com',
  MM_RUNBOOK_URL: 'https://example.com/runbook',
  MM_TRACKER_URL: 'https://abc123.execute-api.eu-west-1.amazonaws.com',
  MM_TRACKER_AWS_ROLE_ARN: 'arn:aws:iam::123456789012:role/mm-gcp-keyless',
};

export function stackJson(cfg: GcpConfig): Record<string, any> {
  const app = Testing.app({ outdir: mkdtempSync(path.join(tmpdir(), 'mm-gcp-stack-')) });
  const stack = new GcpMonitoringStack(app, cfg, { skipBundling: true });
  return JSON.parse(Testing.synth(stack));
}

export const configFor = (env: string, extra: Record<string, string> = {}) => loadGcpConfig(env, { ...CI_ENV, ...extra });
