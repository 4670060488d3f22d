import { Metrics } from '@aws-lambda-powertools/metrics';
import { EmfMetricsSink } from '../../../lib/adapters/aws/emf-metrics';
import { metricsListener } from '../../../lib/compose/tracker';
import { ManualClock } from '../../../lib/core/clock';
import type { ProgressStore } from '../../../lib/core/store';
import { Tracker } from '../../../lib/core/tracker/service';
import { DynamoDbProgressStore } from '../../../lib/adapters/aws/dynamodb-store';
import { startDynalite, type DynaliteServer } from '../../support/dynalite';
import { createProgressTable, dynaliteClient } from './dynalite-table';

/** EMF documents written to stdout while fn runs. */
async function captureEmf(fn: () => Promise<void>): Promise<Array<Record<string, any>>> {
  const lines: string[] = [];
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: any) => (lines.push(String(chunk)), true));
  const log = jest.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.map(String).join(' ')));
  try {
    await fn();
  } finally {
    spy.mockRestore();
    log.mockRestore();
  }
  return lines.flatMap((l) => l.split('\n')).filter((l) => l.includes('"_aws"')).map((l) => JSON.parse(l));
}

const valuesOf = (docs: Array<Record<string, any>>, name: string) => docs.filter((d) => name in d).map((d) => d[name]);

let dynalite: DynaliteServer;
let store: ProgressStore;
beforeAll(async () => {
  dynalite = await startDynalite();
  const client = dynaliteClient(dynalite.endpoint);
  store = new DynamoDbProgressStore({ tableName: await createProgressTable(client), client });
});
afterAll(async () => {
  await dynalite.stop();
});

describe('EMF metrics from tracker changes', () => {
  it('emits each spec metric with its dimensions plus the service rollup, in the configured namespace', async () => {
    const metrics = new Metrics({ namespace: 'MigrationMonitor/test', serviceName: 'migration-monitor' });
    const tracker = new Tracker({ store, clock: new ManualClock(), listeners: [metricsListener(new EmfMetricsSink(metrics))] });
    const phase = 'data-copy';
    await tracker.initialize('emf-1', { plan: [{ id: phase, name: 'Copy data', estimatedDuration: 60 }] });
    const docs = await captureEmf(async () => {
      await tracker.apply('emf-1', { action: 'start_phase', phaseId: phase });
      await tracker.apply('emf-1', { action: 'update_phase', phaseId: phase, progress: 40 });
      await tracker.apply('emf-1', { action: 'update_metrics', metrics: { errorRate: 12.5, migrationSpeed: 2048 }, increment: { totalDataMigrated: 1_000_000 } });
      await tracker.apply('emf-1', { action: 'create_alert', severity: 'critical', message: 'target throttling' });
      await tracker.apply('emf-1', { action: 'pause', reason: 'maintenance window' });
      await tracker.apply('emf-1', { action: 'fail_phase', phaseId: phase, error: 'disk full' });
    });
    expect(docs.length).toBeGreaterThan(0);
    for (const d of docs) expect(d['_aws'].CloudWatchMetrics[0].Namespace).toBe('MigrationMonitor/test');
    const started = docs.find((d) => 'PhaseStarted' in d)!;
    expect(started['MigrationId']).toBe('emf-1');
    expect(started['Phase']).toBe(phase);
    expect(started['service']).toBe('migration-monitor');
    expect(started['_aws'].CloudWatchMetrics[0].Dimensions).toEqual([['service', 'MigrationId', 'Phase'], ['service']]);
    expect(started['_aws'].CloudWatchMetrics[0].Metrics).toEqual(expect.arrayContaining([{ Name: 'PhaseStarted', Unit: 'Count' }]));
    expect(valuesOf(docs, 'PhaseProgress').flat()).toEqual(expect.arrayContaining([40]));
    expect(valuesOf(docs, 'ErrorRate').flat()).toContain(12.5);
    expect(valuesOf(docs, 'DataMigrated').flat()).toContain(1_000_000);
    expect(docs.find((d) => 'AlertsRaised' in d && d['Severity'] === 'critical')).toBeDefined();
    expect(docs.find((d) => 'ControlEvents' in d)?.['Event']).toBe('pause');
    expect(valuesOf(docs, 'PhaseFailed').flat()).toEqual([1]);
    // start_phase, update_phase and update_metrics are reports from a running job; alerts and pauses are not.
    expect(valuesOf(docs, 'ProgressUpdates').flat()).toEqual([1, 1, 1]);
  });

  it('emits the resource and cost figures a job reports (cost with its currency), and none it never reported', async () => {
    const metrics = new Metrics({ namespace: 'MigrationMonitor/test', serviceName: 'migration-monitor' });
    const tracker = new Tracker({ store, clock: new ManualClock(), listeners: [metricsListener(new EmfMetricsSink(metrics))] });
    await tracker.initialize('emf-cost', {});
    const docs = await captureEmf(async () => {
      await tracker.apply('emf-cost', { action: 'update_metrics', metrics: { resourceUtilization: { network: 4096, storage: 1e9 }, costMetrics: { actualCost: 3.5, costPerGB: 0.01, currency: 'EUR' } } });
    });
    expect(valuesOf(docs, 'NetworkThroughput').flat()).toEqual([4096]);
    expect(valuesOf(docs, 'StorageUsed').flat()).toEqual([1e9]);
    const cost = docs.find((d) => 'CostSoFar' in d)!;
    expect([cost['CostSoFar'], cost['Currency'], cost['MigrationId']]).toEqual([3.5, 'EUR', 'emf-cost']);
    expect(valuesOf(docs, 'CostPerGB').flat()).toEqual([0.01]);
    for (const never of ['CpuUtilization', 'MemoryUtilization', 'EstimatedCost']) expect([never, valuesOf(docs, never)]).toEqual([never, []]);
  });

  it('refuses an observation without the dimensions the spec requires', () => {
    const sink = new EmfMetricsSink(new Metrics({ namespace: 'x', serviceName: 'y' }));
    expect(() => sink.record({ metric: 'PhaseProgress', labels: { MigrationId: 'm' }, value: 1, mode: 'set' })).toThrow(/PhaseProgress needs the Phase dimension/);
  });
});
