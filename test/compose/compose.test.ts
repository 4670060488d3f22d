/**
 * The composition layer: one env parser and error format, one lazy-once that forgets failures, one tracker
 * access (token, ambient SigV4, keyless web identity) with the old variable names as aliases, one e-mail
 * transport rule for CLI and handlers, and one description of a stored migration for the Lambda sweep and the
 * Prometheus scrape.
 */
import { FileStore } from '../../lib/adapters/file/file-store';
import { serveHttp, type RunningServer } from '../../lib/adapters/http/server';
import { TrackerClient } from '../../lib/adapters/http/tracker-client';
import { stateObservations } from '../../lib/adapters/prometheus/metrics';
import { channelEnvSchema, channelSettingsFromEnv, defaultEmailVia } from '../../lib/compose/channels';
import { parseEnv, EnvError } from '../../lib/compose/env';
import { composeTrackerApi } from '../../lib/compose/tracker';
import { trackerAccess } from '../../lib/compose/tracker-access';
import { ManualClock } from '../../lib/core/clock';
import { migrationStateObservations } from '../../lib/core/metrics/mapping';
import type { Observation } from '../../lib/core/metrics/observation';
import { METRICS } from '../../lib/core/metrics/spec';
import { lazyOnce } from '../../lib/core/once';
import { Tracker } from '../../lib/core/tracker/service';
import { trackerApi } from '../../lib/core/tracker/api';
import { createProgressTable, dynaliteClient, DYNALITE_CREDENTIALS } from '../adapters/aws/dynalite-table';
import { startDynalite, type DynaliteServer } from '../support/dynalite';
import { startIamGateway } from '../support/sigv4-verifier';
import { z } from 'zod';

describe('parseEnv: one error format, every problem at once, aliases', () => {
  const schema = z.object({ A_URL: z.url(), N: z.coerce.number().int().positive() });
  it('names each bad variable in one message', () => {
    expect(() => parseEnv(schema, { A_URL: 'nope', N: '-1' }, 'thing')).toThrow(new EnvError('thing: bad environment: A_URL: Invalid URL; N: Too small: expected number to be >0'));
  });
  it('fills a canonical name from an old alias, never over a set value', () => {
    expect(parseEnv(schema, { OLD_URL: 'http://a', N: '1' }, 't', { A_URL: ['OLD_URL'] }).A_URL).toBe('http://a');
    expect(parseEnv(schema, { A_URL: 'http://new', OLD_URL: 'http://old', N: '1' }, 't', { A_URL: ['OLD_URL'] }).A_URL).toBe('http://new');
  });
});

describe('lazyOnce', () => {
  it('shares one start, forgets a failed one so the next call tries again', async () => {
    let n = 0;
    const lazy = lazyOnce(async () => {
      n++;
      if (n === 1) throw new Error('secret not there yet');
      return n;
    });
    await expect(lazy.get()).rejects.toThrow('secret not there yet');
    const [a, b] = await Promise.all([lazy.get(), lazy.get()]);
    expect([a, b, n]).toEqual([2, 2, 2]);
  });
});

describe('the e-mail transport: one rule in the CLI and the handlers', () => {
  it('explicit choice wins; else SMTP with a relay configured, else SES', async () => {
    const settings = (env: Record<string, string>) => channelSettingsFromEnv(channelEnvSchema.parse({ REPORT_OUTPUTS: 'email', ...env }), async () => undefined);
    expect(defaultEmailVia(await settings({}))).toBe('ses');
    expect(defaultEmailVia(await settings({ SMTP_HOST: 'smtp.example.com' }))).toBe('smtp');
    expect(defaultEmailVia(await settings({ SMTP_HOST: 'smtp.example.com', REPORT_EMAIL_VIA: 'ses' }))).toBe('ses');
  });
});

describe('trackerAccess', () => {
  let tracker: Tracker;
  let api: RunningServer;
  beforeAll(async () => {
    tracker = new Tracker({ store: FileStore.inMemory() });
    api = await serveHttp(trackerApi({ tracker, token: 'tok' }));
    await tracker.initialize('m1', { name: 'M1' });
  });
  afterAll(() => api.close());

  it('is undefined without a URL, unless a default is given', async () => {
    expect(await trackerAccess({}, 'x')).toBeUndefined();
    expect(await trackerAccess({}, 'x', { defaultUrl: 'http://127.0.0.1:8080' })).toMatchObject({ url: 'http://127.0.0.1:8080', auth: 'none' });
  });

  it('reaches a token-protected tracker with the canonical names and with the GCP stack\'s old names', async () => {
    for (const env of [{ MIGRATION_MONITOR_URL: api.url, MIGRATION_MONITOR_TOKEN: 'tok' }, { MM_TRACKER_URL: api.url, MM_TRACKER_TOKEN: 'tok' }]) {
      const access = (await trackerAccess(env, 'x'))!;
      expect(access.auth).toBe('token');
      const c = new TrackerClient({ ...access, migrationId: 'm1', actor: 't' });
      await expect(c.overview()).resolves.toMatchObject({ migrationId: 'm1' });
    }
  });

  it('signs with the runtime credentials (SigV4) through an IAM-verifying gateway', async () => {
    const creds = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
    const gw = await startIamGateway(trackerApi({ tracker }), creds, 'eu-west-1');
    try {
      const env = { MIGRATION_MONITOR_URL: gw.url, MIGRATION_MONITOR_SIGV4: 'true', AWS_REGION: 'eu-west-1' };
      const saved = { ...process.env };
      Object.assign(process.env, { AWS_ACCESS_KEY_ID: creds.accessKeyId, AWS_SECRET_ACCESS_KEY: creds.secretAccessKey });
      try {
        const access = (await trackerAccess(env, 'x'))!;
        expect(access.auth).toBe('sigv4');
        const c = new TrackerClient({ ...access, migrationId: 'm1', actor: 't' });
        await expect(c.overview()).resolves.toMatchObject({ migrationId: 'm1' });
      } finally {
        process.env = saved;
      }
      expect(gw.seen).toEqual({ verified: 1, rejected: 0 });
    } finally {
      await gw.close();
    }
  });

  it('names what is missing for the keyless path and for SigV4', async () => {
    await expect(trackerAccess({ MIGRATION_MONITOR_URL: 'http://127.0.0.1:1', MM_TRACKER_AWS_ROLE_ARN: 'arn:aws:iam::123456789012:role/r' }, 'report')).rejects.toThrow(
      /report: bad environment: MIGRATION_MONITOR_AWS_ROLE_ARN needs MIGRATION_MONITOR_AWS_REGION/,
    );
    await expect(trackerAccess({ MIGRATION_MONITOR_URL: 'http://127.0.0.1:1', MIGRATION_MONITOR_SIGV4: '1' }, 'validate')).rejects.toThrow(/validate: bad environment: MIGRATION_MONITOR_SIGV4 needs a region/);
    await expect(trackerAccess({ MIGRATION_MONITOR_URL: 'http://127.0.0.1:1', MM_TRACKER_AWS_ROLE_ARN: 'role' }, 'x')).rejects.toThrow(/MIGRATION_MONITOR_AWS_ROLE_ARN: an IAM role ARN/);
  });
});

describe('one description of a stored migration: the Lambda sweep emits what the Prometheus scrape shows', () => {
  let dynalite: DynaliteServer;
  const saved = { ...process.env };
  beforeAll(async () => {
    dynalite = await startDynalite();
    Object.assign(process.env, { AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: DYNALITE_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: DYNALITE_CREDENTIALS.secretAccessKey, AWS_ENDPOINT_URL_DYNAMODB: dynalite.endpoint });
  });
  afterAll(async () => {
    process.env = saved;
    await dynalite.stop();
  });

  it('gauges of the sweep = gauges of the scrape (tenant events, sync lag, phase durations included)', async () => {
    const table = await createProgressTable(dynaliteClient(dynalite.endpoint), 'compose');
    const recorded: Observation[] = [];
    const rt = composeTrackerApi({ TABLE_NAME: table }, { record: (o) => void recorded.push(o), flush: () => undefined }, () => undefined);
    await rt.tracker.initialize('dw', { plan: [{ id: 'copy', name: 'Copy', estimatedDuration: 30 }, { id: 'dual', name: 'Dual write', estimatedDuration: 30 }] });
    await rt.tracker.apply('dw', { action: 'start_phase', phaseId: 'copy', metadata: { tenantId: 't1', eventsCopied: 40, eventsTotal: 100 } });
    await rt.tracker.apply('dw', { action: 'complete_phase', phaseId: 'copy' });
    await rt.tracker.apply('dw', { action: 'start_phase', phaseId: 'dual', metadata: { tenantId: 't1', syncLagEvents: 7 } });
    recorded.length = 0;
    await expect(rt.sweep()).resolves.toEqual({ swept: 1 });
    // values that move with the clock between the sweep and the scrape are compared below, not here
    const moving = new Set<string>(['PhaseDuration', 'EstimatedCompletion']);
    const gauges = (obs: Observation[]) => obs.filter((o) => METRICS[o.metric].kind === 'gauge' && !moving.has(o.metric)).map((o) => `${o.metric} ${JSON.stringify(o.labels)} ${o.value}`).sort();
    const state = await rt.tracker.get('dw');
    const scrape = stateObservations(state, Date.now());
    expect(gauges(recorded)).toEqual(gauges(scrape));
    expect(gauges(recorded)).toEqual(expect.arrayContaining([expect.stringMatching(/^SyncLag \{"TenantId":"t1"\} 7$/), expect.stringMatching(/^EventsTotal .*"TenantId":"t1".* 100$/)]));
    // the same series of PhaseDuration on both (values move with the clock for the running phase)
    const series = (obs: Observation[]) => obs.filter((o) => o.metric === 'PhaseDuration').map((o) => JSON.stringify(o.labels)).sort();
    expect(series(recorded)).toEqual(series(scrape));
    // the ETA is "now + remaining": the same within the seconds between the sweep and the scrape
    const eta = (obs: Observation[]) => obs.filter((o) => o.metric === 'EstimatedCompletion').map((o) => o.value);
    expect(eta(recorded)).toHaveLength(1);
    expect(eta(scrape)).toHaveLength(1);
    expect(Math.abs(eta(recorded)[0]! - eta(scrape)[0]!)).toBeLessThanOrEqual(5);
    expect(migrationStateObservations(state, Date.now()).length).toBeGreaterThan(10);
  });
});

describe('ManualClock sanity for the mapping', () => {
  it('a change observation carries the commit time', async () => {
    const clock = new ManualClock(1_000_000);
    const seen: number[] = [];
    const t = new Tracker({ store: FileStore.inMemory(), clock, listeners: [(c) => void seen.push(c.at)] });
    await t.initialize('c', { name: 'C' });
    expect(seen).toEqual([1_000_000]);
  });
});
