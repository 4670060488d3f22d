/**
 * Recognizes values that are secrets, so they are refused in configuration and caught by the policy tests
 * on the synthesized Terraform JSON. Patterns, not entropy guesses: each one is a credential format that
 * has no business in plain configuration.
 */
const PATTERNS: Array<[string, RegExp]> = [
  ['Slack webhook URL', /https:\/\/hooks\.slack\.com\/(services|workflows|triggers)\/[A-Za-z0-9/_-]{8,}/],
  ['Slack token', /\bxox[abpors]-[A-Za-z0-9-]{10,}/],
  ['AWS access key id', /\b(AKIA|ASIA)[A-Z0-9]{16}\b/],
  ['private key', /-----BEGIN [A-Z ]*PRIVATE KEY-----/],
  ['Google API key', /\bAIza[0-9A-Za-z_-]{35}\b/],
  ['bearer token', /\bBearer\s+[A-Za-z0-9._~+/-]{16,}=*/],
  ['JWT', /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/],
  ['URL with a password', /\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@]+:[^\s@/]+@/i],
  ['GitHub token', /\bgh[pousr]_[A-Za-z0-9]{30,}/],
];

/** Names of the secret kinds found in a string, empty when none. */
export function secretKinds(value: string): string[] {
  return PATTERNS.filter(([, re]) => re.test(value)).map(([name]) => name);
}

/** `path: kind` for every string in a JSON-like value that looks like a secret. */
export function findSecretLikeValues(value: unknown, at = ''): string[] {
  if (typeof value === 'string') return secretKinds(value).map((k) => `${at || '(value)'}: ${k}`);
  if (Array.isArray(value)) return value.flatMap((v, i) => findSecretLikeValues(v, `${at}[${i}]`));
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => findSecretLikeValues(v, at ? `${at}.${k}` : k));
  return [];
}
