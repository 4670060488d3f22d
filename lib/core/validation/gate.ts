/**
 * Whether a failed validation run failed a cutover gate: the one rule the validation engine (its
 * ValidationGateFailed metric, hence the handlers' alert line and the critical alarm) and the tracker (health,
 * the alert's severity, the cutover refusal) both apply, so they cannot disagree.
 */
export interface GateInput {
  verdict: 'pass' | 'fail';
  /** The run is a gate as a whole (`options.gate`). */
  gate?: boolean;
  /** Every check of the run, with whether it passed and whether it is marked as a gate. A check not run counts as failed. */
  checks: ReadonlyArray<{ passed: boolean; gate?: boolean }>;
}

/** Whether a check of a config is a gate: its own `gate`, else the run's (`options.gate`). */
export const isGateCheck = (check: { gate?: boolean }, options: { gate: boolean }): boolean => check.gate ?? options.gate;

export const failsGate = (v: GateInput): boolean => v.verdict === 'fail' && (v.gate === true || v.checks.some((c) => !c.passed && c.gate === true));
