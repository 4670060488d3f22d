import type { Command } from 'commander';
import { TrackerApiError } from '../../adapters/http/tracker-client';
import { clientFrom, withApiOptions, type ApiOptions } from '../common';
import { CliError } from '../errors';
import { age, outputFormat, renderList, withFormat } from '../output';

interface AlertView {
  id: string;
  severity: string;
  message: string;
  phaseId?: string;
  createdAt: string;
  source: string;
  acknowledged: boolean;
  acknowledgedBy?: string;
}

const SEVERITY_ORDER = ['critical', 'error', 'warning', 'info'];

export function registerAlerts(program: Command): void {
  withFormat(withApiOptions(program.command('alerts').description('list open alerts (id, severity, phase, age); acknowledge one with `ack <id>`')))
    .option('--all', 'include acknowledged alerts')
    .option('--severity <level>', 'only this severity and worse: info, warning, error or critical')
    .action(async (opts: ApiOptions & { format?: string; all?: boolean; severity?: string }) => {
      const format = outputFormat(opts);
      const floor = opts.severity === undefined ? SEVERITY_ORDER.length - 1 : SEVERITY_ORDER.indexOf(opts.severity);
      if (floor < 0) throw new CliError(`--severity must be one of ${SEVERITY_ORDER.join(', ')} (got "${opts.severity}")`, 2);
      let alerts: AlertView[];
      try {
        alerts = (await (await clientFrom(opts)).dashboard<{ alerts: AlertView[] }>(0)).alerts;
      } catch (e) {
        if (e instanceof TrackerApiError) throw new CliError(`tracker API: ${e.message} (HTTP ${e.status})`, 1);
        throw new CliError((e as Error).message, 1);
      }
      const shown = alerts
        .filter((a) => (opts.all || !a.acknowledged) && SEVERITY_ORDER.indexOf(a.severity) <= floor)
        .sort((a, b) => SEVERITY_ORDER.indexOf(a.severity) - SEVERITY_ORDER.indexOf(b.severity) || Date.parse(b.createdAt) - Date.parse(a.createdAt));
      const now = Date.now();
      process.stdout.write(
        renderList(shown, format, [
          ['ID', (a) => a.id],
          ['Severity', (a) => a.severity],
          ['Phase', (a) => a.phaseId ?? '-'],
          ['Age', (a) => age(a.createdAt, now)],
          ...(opts.all ? ([['Acked', (a: AlertView) => (a.acknowledged ? a.acknowledgedBy ?? 'yes' : 'no')]] as Array<[string, (a: AlertView) => string]>) : []),
          ['Message', (a) => a.message],
        ]) + '\n',
      );
    });
}
