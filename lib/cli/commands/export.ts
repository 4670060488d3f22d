import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import YAML from 'yaml';
import * as z from '../../core/zod';
import { ENVIRONMENT_SETTINGS, ENVIRONMENTS, alarmOverrides, type EnvName } from '../../config/environments';
import { alarmOverrideSchema, resolveSpec, type AlarmOverride, type MonitoringSpec } from '../../core/metrics/spec';
import { grafanaDashboard } from '../../core/render/grafana';
import { prometheusRules, prometheusRulesYaml } from '../../core/render/prometheus-rules';
import { formatZodError } from '../../core/validation-util';
import { CliError } from '../errors';
import { outputFormat, renderData, table, terminalWidth, withFormat } from '../output';

interface SpecFlags {
  env?: string;
  overrides?: string;
  out?: string;
  runbookUrl?: string;
  minRange: string;
}

const overridesSchema = z.record(z.string(), alarmOverrideSchema);

/** The spec with the environment's overrides (the same the AWS and GCP stacks use) and a file of your own on top. */
export function specFrom(flags: Pick<SpecFlags, 'env' | 'overrides'>): MonitoringSpec {
  let overrides: Record<string, AlarmOverride> = {};
  if (flags.env !== undefined) {
    if (!(ENVIRONMENTS as readonly string[]).includes(flags.env)) throw new CliError(`--env must be one of ${ENVIRONMENTS.join(', ')} (got "${flags.env}")`, 2);
    overrides = alarmOverrides(ENVIRONMENT_SETTINGS[flags.env as EnvName]);
  }
  if (flags.overrides) {
    let raw: unknown;
    try {
      raw = YAML.parse(fs.readFileSync(flags.overrides, 'utf8'));
    } catch (e) {
      throw new CliError(`cannot read --overrides ${flags.overrides}: ${(e as Error).message}`, 2);
    }
    const r = overridesSchema.safeParse(raw ?? {});
    if (!r.success) throw new CliError(`--overrides ${flags.overrides}: ${formatZodError(r.error)}`, 2);
    for (const [id, o] of Object.entries(r.data)) overrides[id] = { ...overrides[id], ...o };
  }
  try {
    return resolveSpec(overrides);
  } catch (e) {
    throw new CliError((e as Error).message, 2);
  }
}

function parseRange(v: string): number {
  const m = /^(\d+)(s|m|h)?$/.exec(v.trim());
  const n = m ? Number(m[1]) * ({ s: 1, m: 60, h: 3600 }[(m[2] ?? 's') as 's' | 'm' | 'h']) : NaN;
  if (!(n >= 10 && n <= 86400)) throw new CliError(`--min-range must be a duration from 10s to 24h, e.g. 2m (got "${v}")`, 2);
  return n;
}

function emit(text: string, out: string | undefined): void {
  if (!out) {
    process.stdout.write(text);
    return;
  }
  fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
  fs.writeFileSync(out, text);
  process.stderr.write(`wrote ${out}\n`);
}

const common = (cmd: Command) =>
  cmd
    .option('--env <env>', `apply the alarm overrides of an environment (${ENVIRONMENTS.join(', ')}), as the AWS and GCP stacks do`)
    .option('--overrides <file>', 'YAML/JSON map of alarm id → {threshold, periodSeconds, evaluationPeriods, datapointsToAlarm, severity, missingData, enabled}')
    .option('--out <file>', 'write here instead of stdout')
    .option('--runbook-url <url>', 'runbook page; each alert links <url>#<alarm id>')
    .option('--min-range <duration>', 'shortest PromQL range, at least two scrape intervals', '2m');

export function registerExport(program: Command): void {
  const exp = program.command('export').description('render the monitoring spec for other tools (Prometheus rules, Grafana dashboard)');
  withFormat(common(exp.command('prometheus-rules').description('the spec alarms as a Prometheus rule file (YAML): for, severity labels, summary/description/runbook annotations; -o table|markdown lists the alerts')), { default: 'yaml' })
    .option('--label <key=value...>', 'extra label on every alert (e.g. team=data)')
    .option('--former-names', 'also record the metrics under their former names (dual_write_*, *_percent...), for queries not yet moved')
    .action((flags: SpecFlags & { label?: string[]; format?: string; formerNames?: boolean }) => {
      const extraLabels: Record<string, string> = {};
      for (const kv of flags.label ?? []) {
        const m = /^([a-zA-Z_][a-zA-Z0-9_]*)=(.*)$/.exec(kv);
        if (!m) throw new CliError(`--label must be key=value with a Prometheus label name (got "${kv}")`, 2);
        extraLabels[m[1]!] = m[2]!;
      }
      const options = { runbookUrl: flags.runbookUrl, minRangeSeconds: parseRange(flags.minRange), extraLabels, formerNames: flags.formerNames };
      const spec = specFrom(flags);
      const format = outputFormat(flags);
      // YAML keeps the file's header comment and long expressions on one line (what promtool reads)
      if (format === 'yaml') return emit(prometheusRulesYaml(spec, options), flags.out);
      const file = prometheusRules(spec, options);
      // the table lists the alerts (the former-name recording rules are in the other formats)
      const rules = file.groups[0].rules;
      emit(
        `${renderData(file, format, (md) => table(['Alert', 'Severity', 'For', 'Expression'], rules.map((r) => [r.alert, r.labels['severity'] ?? '', r.for, r.expr]), md, flags.out ? Infinity : terminalWidth()))}\n`,
        flags.out,
      );
    });
  withFormat(common(exp.command('grafana-dashboard').description('the spec panels and alarms as a Grafana dashboard (JSON model, Prometheus data source); -o table|markdown lists the panels')), { default: 'json' })
    .option('--title <title>', 'dashboard title', 'Migration monitor')
    .option('--uid <uid>', 'dashboard uid', 'migration-monitor')
    .action((flags: SpecFlags & { title: string; uid: string; format?: string }) => {
      if (!/^[a-zA-Z0-9_-]{1,40}$/.test(flags.uid)) throw new CliError(`--uid must be 1-40 letters, digits, "_" or "-" (got "${flags.uid}")`, 2);
      const d = grafanaDashboard(specFrom(flags), { title: flags.title, uid: flags.uid, runbookUrl: flags.runbookUrl, minRangeSeconds: parseRange(flags.minRange) });
      const panels = (d['panels'] as Array<{ type: string; title: string }>).filter((p) => p.type !== 'row');
      emit(`${renderData(d, outputFormat(flags), (md) => table(['Panel', 'Type'], panels.map((p) => [p.title, p.type]), md, flags.out ? Infinity : terminalWidth()))}\n`, flags.out);
    });
}
