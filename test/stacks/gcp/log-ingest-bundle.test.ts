/**
 * The log-ingest handler exactly as the GCP stack deploys it: the entry, export and adapter from the stack's
 * config, bundled by the stack's bundler (esbuild + the Cloud Run entry), run as `node index.js` on $PORT
 * (container mode) against a real tracker API, and pushed to the way the Pub/Sub subscription pushes.
 */
import { FileStore } from '../../../lib/adapters/file/file-store';
import { serveHttp, type RunningServer } from '../../../lib/adapters/http/server';
import { Tracker } from '../../../lib/core/tracker/service';
import { trackerApi } from '../../../lib/core/tracker/api';
import { startCloudRunBundle, type RunningCloudRunBundle } from '../../support/cloud-run-bundle';

// A JWT-shaped bearer token: Cloud Run has verified the real one (signature stripped) before the request arrives.
const BEARER = `Bearer x.${Buffer.from(JSON.stringify({ email: 'mm-prod-log-push@acme-migration.iam.gserviceaccount.com' })).toString('base64url')}.`;

describe('log-ingest on Cloud Run, bundled as the stack deploys it', () => {
  let tracker: Tracker;
  let api: RunningServer;
  let run: RunningCloudRunBundle;
  let port: number;
  let stdout: string[];

  beforeAll(async () => {
    tracker = new Tracker({ store: FileStore.inMemory() });
    api = await serveHttp(trackerApi({ tracker, token: 'api-token' }));
    const config = { MM_GCP_PROJECT: 'acme-migration', MM_ALERT_EMAILS: 'oncall@example.com', MM_TRACKER_URL: api.url, MM_LOG_INGEST_FILTER: 'resource.type="cloud_run_job"' };
    run = await startCloudRunBundle('logIngest', 'log-ingest', config, { MM_HANDLER: 'log-ingest', MM_TRACKER_URL: api.url, MM_TRACKER_TOKEN: 'api-token' });
    ({ port, output: stdout } = run);
  }, 60_000);

  afterAll(async () => {
    await run?.stop();
    await api?.close();
  });

  const push = (jsonPayload: Record<string, unknown>, id: string, auth: string | null = BEARER) =>
    fetch(`http://127.0.0.1:${port}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(auth ? { authorization: auth } : {}) },
      body: JSON.stringify({
        message: {
          data: Buffer.from(
            JSON.stringify({ insertId: id, logName: 'projects/acme-migration/logs/run.googleapis.com%2Fstdout', resource: { type: 'cloud_run_job', labels: { job_name: 'tenant-migrator' } }, jsonPayload }),
          ).toString('base64'),
          messageId: id,
        },
        subscription: 'projects/acme-migration/subscriptions/mm-prod-migration-logs-push',
      }),
    });

  it('applies pushed log entries to the tracker and prints the spec metrics the log-based metrics count', async () => {
    let r = await push({ message: 'Migration started', migration_id: 'gcp-1', tenant_id: 't-9' }, 'e1');
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ applied: 1 });
    r = await push({ message: 'Target write failed', migration_id: 'gcp-1', tenant_id: 't-9' }, 'e2');
    expect(await r.json()).toMatchObject({ applied: 1 });
    const s = await tracker.get('gcp-1');
    expect(s.phases[0]!.status).toBe('in_progress');
    expect(s.metrics.failedOperations).toBe(1);
    // `jsonPayload.DualWriteFailures > 0` is the log-based metric's filter (lib/constructs/gcp/log-metrics.ts)
    const lines = stdout.join('').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.find((l) => typeof l['DualWriteFailures'] === 'number')).toMatchObject({ DualWriteFailures: 1, TenantId: 't-9' });
  });

  it('refuses a request without a bearer token (Cloud Run would have, too)', async () => {
    const r = await push({ message: 'Migration started', migration_id: 'gcp-2' }, 'e3', null);
    expect(r.status).toBe(401);
    await expect(tracker.list()).resolves.not.toContain('gcp-2');
  });
});
