import type { Command } from 'commander';
import { TrackerClient, TrackerApiError } from '../../adapters/http/tracker-client';
import { clientFrom, withApiOptions, type ApiOptions } from '../common';
import { CliError } from '../errors';
import { outputFormat, renderList, withFormat } from '../output';

export interface MigrationRow {
  id: string;
  name: string;
  status: string;
  paused: boolean;
  health: string;
  reasons: string[];
  progress: number;
  eta: string | null;
  openAlerts: number;
}

/** Every migration on the tracker: its overview (status, health, progress, ETA). */
export async function listMigrations(client: TrackerClient, opts: ApiOptions): Promise<MigrationRow[]> {
  const { migrations } = await client.list();
  const rows: MigrationRow[] = [];
  for (const id of migrations) {
    const one = await clientFrom({ ...opts, migration: id });
    // the overview carries the tracker's own health verdict (the one /health gives)
    const o = await one.overview<{ name: string; status: string; paused: boolean; overallProgress: number; estimate: { estimatedCompletion: string | null }; openAlerts: Record<string, number>; health?: { status: string; reasons: string[] } }>();
    const h = o.health;
    rows.push({
      id,
      name: o.name,
      status: o.status,
      paused: o.paused,
      health: h?.status ?? 'unknown',
      reasons: h?.reasons ?? [],
      progress: o.overallProgress,
      eta: o.estimate.estimatedCompletion,
      openAlerts: Object.values(o.openAlerts).reduce((a, b) => a + b, 0),
    });
  }
  return rows;
}

export function registerMigrations(program: Command): void {
  withFormat(withApiOptions(program.command('migrations').description('list migrations with status, health, progress and ETA'))).action(async (opts: ApiOptions & { format?: string }) => {
    const format = outputFormat(opts);
    let rows: MigrationRow[];
    try {
      rows = await listMigrations(await clientFrom(opts), opts);
    } catch (e) {
      if (e instanceof TrackerApiError) throw new CliError(`tracker API: ${e.message} (HTTP ${e.status})`, 1);
      throw e instanceof CliError ? e : new CliError((e as Error).message, 1);
    }
    process.stdout.write(
      renderList(rows, format, [
        ['ID', (r) => r.id],
        ['Name', (r) => r.name],
        ['Status', (r) => r.status + (r.paused ? ' (paused)' : '')],
        ['Health', (r) => r.health],
        ['Progress', (r) => `${r.progress.toFixed(1)}%`],
        ['ETA', (r) => r.eta ?? (r.status === 'completed' ? 'done' : '-')],
        ['Alerts', (r) => String(r.openAlerts)],
        ['Why', (r) => r.reasons.join('; ')],
      ]) + '\n',
    );
  });
}
