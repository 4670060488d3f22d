import { ALARMS, type AlarmOverride } from '../core/metrics/spec';

/**
 * The per-environment settings both stacks (AWS, GCP) and the CLI share: which environments exist, how each
 * names its resources, how much error and silence it tolerates, and whether it must page someone. One place,
 * so `dev`, `staging` and `prod` mean the same on every cloud and the health the tracker reports agrees with
 * the alarms that fire. No cloud SDK or CDK import here.
 */
export const ENVIRONMENTS = ['dev', 'staging', 'prod'] as const;
export type EnvName = (typeof ENVIRONMENTS)[number];

export const isEnvName = (s: string): s is EnvName => (ENVIRONMENTS as readonly string[]).includes(s);

export interface EnvironmentSettings {
  /**
   * Error rate (percent of failed operations) above which the tracker's health says "degraded" and the
   * `error-rate-high` alarm fires: one number for both.
   */
  errorRatePercent: number;
  /** Minutes without progress after which a running phase is stalled: the health check and the stalled alarm's window. */
  stallMinutes: number;
  /** Further alarm overrides, keyed by spec alarm id (not `error-rate-high`'s threshold: that is `errorRatePercent`). */
  alarms: Record<string, AlarmOverride>;
  /** Synthesis refuses this environment without on-call addresses (dev only warns). */
  onCallRequired: boolean;
}

export const ENVIRONMENT_SETTINGS: Record<EnvName, EnvironmentSettings> = {
  // Dev pages nobody for slow proxies and tolerates more failing operations.
  dev: { errorRatePercent: 25, stallMinutes: 60, alarms: { 'proxy-latency-slo': { enabled: false } }, onCallRequired: false },
  staging: { errorRatePercent: 15, stallMinutes: 30, alarms: {}, onCallRequired: true },
  prod: { errorRatePercent: 10, stallMinutes: 30, alarms: { 'error-rate-high': { evaluationPeriods: 2, datapointsToAlarm: 2 } }, onCallRequired: true },
};

/** What the health check and the alarms both read. */
export type HealthSettings = Pick<EnvironmentSettings, 'errorRatePercent' | 'stallMinutes' | 'alarms'>;

/**
 * The alarm overrides the spec receives: the environment's own, the error-rate threshold from
 * `errorRatePercent`, and the stalled alarm's window from `stallMinutes` (in the alarm's periods), so the
 * tracker's health and the alarms agree on what "too many errors" and "stalled" mean.
 */
export function alarmOverrides(s: HealthSettings): Record<string, AlarmOverride> {
  const stalled = ALARMS.find((a) => a.id === 'migration-stalled');
  const periods = Math.max(1, Math.ceil((s.stallMinutes * 60) / (stalled?.periodSeconds ?? 300)));
  return {
    ...s.alarms,
    'error-rate-high': { ...s.alarms['error-rate-high'], threshold: s.errorRatePercent },
    'migration-stalled': { evaluationPeriods: periods, datapointsToAlarm: periods, ...s.alarms['migration-stalled'] },
  };
}

/** An explicit `error-rate-high` threshold would split health from alarm: refused, naming the setting to use. */
export function checkHealthSettings(s: HealthSettings, where: string): string | undefined {
  if (s.alarms['error-rate-high']?.threshold !== undefined) return `${where}: set errorRatePercent instead of the error-rate-high threshold (the tracker's health and the alarm share it)`;
  return undefined;
}

/**
 * The on-call rule: staging and prod refuse to synthesize without on-call addresses (the returned error names
 * the setting); dev synthesizes with a warning.
 */
export function onCallCheck(env: EnvName, emails: readonly string[], setting: string): { error?: string; warning?: string } {
  if (emails.length > 0) return {};
  const what = `no on-call addresses: alarms of ${env} would notify nobody; set ${setting}`;
  return ENVIRONMENT_SETTINGS[env].onCallRequired ? { error: `${env} needs on-call addresses: ${what}` } : { warning: what };
}

/** SSM parameter prefix of an environment: environments share an account and region without colliding. */
export const parameterPrefixFor = (env: EnvName) => `/migration/${env}`;
