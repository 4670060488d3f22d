/**
 * Shared vocabulary of the GCP constructs: environments, label rules and resource-name rules. Everything
 * CDKTF-specific stays under lib/constructs/gcp/ and stacks/gcp/ so a move to a CDKTF fork or to plain HCL is
 * a rename, not a rewrite.
 */

import type { EnvName } from '../../config/environments';

/** The environments (one list for both clouds and the CLI: lib/config/environments.ts). */
export { ENVIRONMENTS } from '../../config/environments';
export type Environment = EnvName;

/** What a construct needs to know about where it is deployed. */
export interface GcpPlacement {
  /** Project id, or a Terraform expression such as `${var.project_id}`. */
  project: string;
  region: string;
  env: Environment;
  /** Short prefix of every resource name, e.g. `mm-prod`. */
  namePrefix: string;
  labels: Record<string, string>;
}

const LABEL_KEY = /^[a-z][a-z0-9_-]{0,62}$/;
const LABEL_VALUE = /^[a-z0-9_-]{0,63}$/;

/** GCP labels: lowercase keys starting with a letter, values of lowercase letters, digits, `_` and `-`, at most 63 chars. */
export function checkLabels(labels: Record<string, string>): Record<string, string> {
  for (const [k, v] of Object.entries(labels)) {
    if (!LABEL_KEY.test(k)) throw new Error(`invalid GCP label key "${k}": lowercase letters, digits, _ and -, starting with a letter, at most 63 characters`);
    if (!LABEL_VALUE.test(v)) throw new Error(`invalid GCP label value "${v}" for "${k}": lowercase letters, digits, _ and -, at most 63 characters`);
  }
  return labels;
}

export function baseLabels(env: Environment, extra: Record<string, string> = {}): Record<string, string> {
  return checkLabels({ app: 'migration-monitor', env, 'managed-by': 'cdktf', ...extra });
}

/** A service-account id: 6-30 characters, lowercase letters, digits and hyphens, starting with a letter. */
export function serviceAccountId(prefix: string, purpose: string): string {
  const id = `${prefix}-${purpose}`.toLowerCase().replace(/[^a-z0-9-]/g, '-');
  if (!/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/.test(id)) {
    throw new Error(`service account id "${id}" must be 6-30 characters of lowercase letters, digits and hyphens, starting with a letter (shorten namePrefix)`);
  }
  return id;
}

/** Cloud Run / Cloud Functions names: lowercase letters, digits and hyphens, at most 49 characters (Cloud Run's limit for functions). */
export function serviceName(prefix: string, purpose: string): string {
  const name = `${prefix}-${purpose}`.toLowerCase();
  if (!/^[a-z]([a-z0-9-]{0,47}[a-z0-9])?$/.test(name)) throw new Error(`service name "${name}" must be at most 49 lowercase letters, digits and hyphens, starting with a letter`);
  return name;
}

/** `serviceAccount:<email>`: the only member form the constructs ever grant roles to. */
export const saMember = (email: string): string => `serviceAccount:${email}`;
