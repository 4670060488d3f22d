import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { TrackerApiError, type TrackerClient } from '../../adapters/http/tracker-client';
import { EnvError } from '../../compose/env';
import { stageControl, type StageControl, type StageControlOptions } from '../../compose/stage-control';
import { PROXY_STAGES, proxyStageSchema, type ProxyStage } from '../../core/search/writes';
import { CliError } from '../errors';
import { fields, outputFormat, renderData, withFormat } from '../output';
import { clientFrom, withApiOptions, type ApiOptions } from '../common';

/**
 * `migration-monitor cutover` and `rollback`: move the search proxy between its stages (old-only →
 * dual-write → shadow → new-primary) through the operator switch of its runtime, so reads and writes move
 * together, and record the move in the tracker's activity log with the actor.
 *
 * - cutover goes forward. Past dual-write (shadow, new-primary) it needs the latest validation to have
 *   passed within --max-validation-age, unless --force --reason. Exit 0 moved, 1 refused by the gate,
 *   2 bad usage, 3 could not check or could not move.
 * - rollback goes back (default: dual-write, which keeps writing both stores, the old one acknowledging), is
 *   never gated and moves the switch before anything else; the migration becomes `rolled_back`.
 */

const rank = (s: ProxyStage) => PROXY_STAGES.indexOf(s);
/** Stages that put the new store in front of clients' reads (or compare it): the gate applies. */
const GATED: ReadonlySet<ProxyStage> = new Set(['shadow', 'new-primary']);

interface SwitchFlags extends ApiOptions {
  format?: string;
  to?: string;
  switchParameter?: string;
  switchRedis?: string;
  switchKey?: string;
  switchRedisCa?: string;
  proxy?: string;
  reason?: string;
}

function withSwitchOptions(cmd: Command): Command {
  return withFormat(withApiOptions(cmd))
    .option('--to <stage>', `target stage: ${PROXY_STAGES.join(', ')}`)
    .option('--switch-parameter <name>', 'AWS: the SSM parameter the proxies read (their BREAKER_SWITCH_PARAMETER)')
    .option('--switch-redis <url>', 'GCP: the Redis holding the switch (the proxies\' BREAKER_STATE_REDIS_URL)')
    .option('--switch-key <key>', 'GCP: the Redis key (the proxies\' BREAKER_SWITCH_REDIS_KEY)')
    .option('--switch-redis-ca <file>', 'GCP: PEM of the Redis server\'s CA for a rediss:// URL (the proxies\' BREAKER_STATE_REDIS_CA; its AUTH string is read from BREAKER_STATE_REDIS_AUTH)')
    .option('--proxy <url>', 'local mode: the search proxy (default http://127.0.0.1:8081; --token is sent to it too)')
    .option('--reason <text>', 'why, recorded in the activity log');
}

function parseStage(v: string | undefined, flag: string): ProxyStage | undefined {
  if (v === undefined) return undefined;
  const r = proxyStageSchema.safeParse(v);
  if (!r.success) throw new CliError(`${flag} must be one of ${PROXY_STAGES.join(', ')} (got "${v}")`, 2);
  return r.data;
}

function readCaFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new CliError(`--switch-redis-ca: cannot read ${file}: ${(e as Error).message}`, 2);
  }
}

async function openSwitch(o: SwitchFlags): Promise<StageControl> {
  const opts: StageControlOptions = {
    ...(o.switchParameter ? { switchParameter: o.switchParameter } : {}),
    ...(o.switchRedis ? { switchRedis: o.switchRedis } : {}),
    ...(o.switchKey ? { switchKey: o.switchKey } : {}),
    ...(o.switchRedisCa ? { switchRedisCa: readCaFile(o.switchRedisCa) } : {}),
    ...(o.proxy ? { proxy: o.proxy } : {}),
    ...(o.region ? { region: o.region } : {}),
    // local mode: the proxy's admin API takes the tracker's token (the same flag or variable)
    ...((o.token ?? process.env['MIGRATION_MONITOR_TOKEN']) ? { token: o.token ?? process.env['MIGRATION_MONITOR_TOKEN'] } : {}),
  };
  try {
    // without a switch flag, the GCP proxies' own variables (BREAKER_STATE_REDIS_URL, ...) name the switch
    return await stageControl(opts, process.env);
  } catch (e) {
    if (e instanceof EnvError) throw new CliError(e.message, 2);
    throw new CliError(`could not open the operator switch: ${(e as Error).message}`, 3);
  }
}

async function currentStage(sw: StageControl): Promise<ProxyStage | null> {
  try {
    return await sw.current();
  } catch (e) {
    throw new CliError(`could not read the stage from ${sw.where}: ${(e as Error).message}`, 3);
  }
}

interface LastValidation {
  at: string;
  verdict: 'pass' | 'fail';
  checks: Array<{ name: string; passed: boolean; summary: string }>;
}

/** Why the gate refuses a cutover, or null when the latest validation passed recently enough. */
export function gateRefusal(v: LastValidation | undefined, maxAgeMinutes: number, now: number): string | null {
  if (!v) return 'no validation has been recorded for this migration (run `migration-monitor validate --tracker`)';
  const ageMin = (now - Date.parse(v.at)) / 60_000;
  if (v.verdict !== 'pass') {
    const failed = v.checks.filter((c) => !c.passed).map((c) => `${c.name} (${c.summary})`);
    return `the latest validation (${v.at}) failed: ${failed.join('; ') || 'verdict fail'}`;
  }
  if (ageMin > maxAgeMinutes) return `the latest validation passed at ${v.at}, ${Math.round(ageMin)} min ago: older than --max-validation-age ${maxAgeMinutes} min`;
  return null;
}

async function record(client: TrackerClient, op: Parameters<TrackerClient['send']>[0]): Promise<string | null> {
  try {
    await client.send(op);
    return null;
  } catch (e) {
    return e instanceof TrackerApiError ? `${e.message} (HTTP ${e.status})` : (e as Error).message;
  }
}

/** The move in the output format: JSON/YAML the record, table the one line scripts grep, markdown its fields. */
function printMove(o: SwitchFlags, move: Record<string, unknown>, line: string): void {
  const format = outputFormat(o);
  const text = (md: boolean) => (md ? fields(Object.entries(move).map(([k, v]) => [k, String(v ?? '-')]), true) : line);
  process.stdout.write(`${renderData(move, format, text)}\n`);
}

export function registerCutover(program: Command): void {
  withSwitchOptions(program.command('cutover').description('move the search proxy forward a stage (reads and writes together), gated by the latest validation'))
    .option('--max-validation-age <minutes>', 'the latest validation must be at most this old', '60')
    .option('--force', 'cut over past a failed or stale validation (needs --reason)')
    .action(async (o: SwitchFlags & { maxValidationAge: string; force?: boolean }) => {
      const maxAge = Number(o.maxValidationAge);
      if (!(maxAge > 0)) throw new CliError(`--max-validation-age must be a positive number of minutes (got "${o.maxValidationAge}")`, 2);
      if (o.force && !o.reason) throw new CliError('--force needs --reason (it is recorded in the activity log)', 2);
      let to = parseStage(o.to, '--to');
      const client = await clientFrom(o);
      const sw = await openSwitch(o);
      try {
        const from = await currentStage(sw);
        if (!to) {
          const next = PROXY_STAGES[from === null ? 1 : rank(from) + 1];
          if (!next) throw new CliError(`the proxy is at ${from}, the last stage: nothing to cut over to`, 2);
          to = next;
        }
        if (from !== null && rank(to) <= rank(from)) throw new CliError(`cutover goes forward: the proxy is at ${from}; use \`migration-monitor rollback --to ${to}\` to go back`, 2);
        let forcedPast: string | null = null;
        if (GATED.has(to)) {
          let dash: { lastValidation?: LastValidation };
          try {
            dash = await client.dashboard<{ lastValidation?: LastValidation }>(1);
          } catch (e) {
            if (!o.force) throw new CliError(`could not read the latest validation from the tracker: ${(e as Error).message}`, 3);
            dash = {};
          }
          const refusal = gateRefusal(dash.lastValidation, maxAge, Date.now());
          if (refusal && !o.force) throw new CliError(`cutover to ${to} refused: ${refusal}. Fix and validate again, or pass --force --reason "<why>"`, 1);
          forcedPast = refusal;
        }
        let moved;
        try {
          moved = await sw.set(to);
        } catch (e) {
          throw new CliError(`could not set the stage in ${sw.where}: ${(e as Error).message}`, 3);
        }
        const reason = o.reason && forcedPast ? `${o.reason} (gate: ${forcedPast})`.slice(0, 2000) : o.reason;
        const failed = await record(client, { action: 'record_cutover', stage: to, ...(moved.from ? { from: moved.from } : {}), forced: Boolean(forcedPast), ...(reason ? { reason } : {}) });
        const line = `cutover: ${moved.from ?? '(unset)'} -> ${to} in ${sw.where}${forcedPast ? ` (forced past the gate: ${forcedPast})` : ''}`;
        printMove(o, { action: 'cutover', from: moved.from ?? null, to, where: sw.where, forced: Boolean(forcedPast), gate: forcedPast, recorded: !failed }, line);
        if (failed) throw new CliError(`the stage moved, but the tracker did not record it: ${failed}`, 3);
      } finally {
        await sw.close();
      }
    });
}

export function registerRollback(program: Command): void {
  withSwitchOptions(program.command('rollback').description('move the search proxy back (default: dual-write, old store answering, both still written): always allowed, immediate'))
    .action(async (o: SwitchFlags) => {
      const target = parseStage(o.to, '--to');
      const client = await clientFrom(o);
      const sw = await openSwitch(o);
      try {
        const from = await currentStage(sw);
        const to = target ?? 'dual-write';
        if (from !== null && rank(to) >= rank(from)) {
          throw new CliError(`rollback goes back: the proxy is at ${from}${to === 'dual-write' ? ' (reads and writes already on the old store; `--to old-only` stops writing the new one)' : ''}`, 2);
        }
        let moved;
        try {
          moved = await sw.set(to);
        } catch (e) {
          throw new CliError(`could not set the stage in ${sw.where}: ${(e as Error).message}`, 3);
        }
        const failed = await record(client, { action: 'record_rollback', stage: to, ...(moved.from ? { from: moved.from } : {}), ...(o.reason ? { reason: o.reason } : {}) });
        printMove(o, { action: 'rollback', from: moved.from ?? null, to, where: sw.where, recorded: !failed }, `rollback: ${moved.from ?? '(unset)'} -> ${to} in ${sw.where}`);
        if (failed) throw new CliError(`rolled back, but the tracker did not record it: ${failed}`, 3);
      } finally {
        await sw.close();
      }
    });
}
