import { ReportBucket, SecureBucket } from '../../../lib/constructs/gcp/report-bucket';
import { only, resources, synthJson } from './synth-helpers';

describe('ReportBucket', () => {
  it('is private by construction: UBLA, public access prevention enforced, versioning, lifecycle, labels, no force-destroy', () => {
    const json = synthJson((s) => new ReportBucket(s, 'reports', { name: 'acme-mm-reports-prod', location: 'EU', env: 'prod', labels: { env: 'prod' } }));
    const b = only(json, 'google_storage_bucket');
    expect(b).toMatchObject({
      name: 'acme-mm-reports-prod',
      location: 'EU',
      uniform_bucket_level_access: true,
      public_access_prevention: 'enforced',
      versioning: { enabled: true },
      force_destroy: false,
      labels: { env: 'prod', purpose: 'reports' },
    });
    expect(b.lifecycle_rule).toEqual([
      { action: { type: 'SetStorageClass', storage_class: 'NEARLINE' }, condition: { age: 30, matches_storage_class: ['STANDARD'] } },
      { action: { type: 'Delete' }, condition: { age: 365 } },
      { action: { type: 'Delete' }, condition: { days_since_noncurrent_time: 30, with_state: 'ARCHIVED' } },
    ]);
    expect(b.retention_policy).toBeUndefined();
    expect(b.encryption).toBeUndefined();
  });

  it('takes a configurable lifecycle; 0 turns a rule off', () => {
    const json = synthJson((s) => new ReportBucket(s, 'r', { name: 'b', location: 'EU', env: 'staging', lifecycle: { nearlineAfterDays: 0, deleteAfterDays: 90 } }));
    expect(only(json, 'google_storage_bucket').lifecycle_rule).toEqual([
      { action: { type: 'Delete' }, condition: { age: 90 } },
      { action: { type: 'Delete' }, condition: { days_since_noncurrent_time: 30, with_state: 'ARCHIVED' } },
    ]);
  });

  it('sets a retention policy (and drops versioning, which GCS does not allow with it)', () => {
    const json = synthJson((s) => new ReportBucket(s, 'r', { name: 'b', location: 'EU', env: 'prod', retentionDays: 30, lockRetention: true }));
    const b = only(json, 'google_storage_bucket');
    expect(b.retention_policy).toEqual({ retention_period: 30 * 86400, is_locked: true });
    expect(b.versioning).toEqual({ enabled: false });
    expect(b.lifecycle_rule).toHaveLength(2);
  });

  it('uses a CMEK key and grants the GCS service agent on it before the bucket is created', () => {
    const key = 'projects/p/locations/europe/keyRings/mm/cryptoKeys/reports';
    const json = synthJson((s) => new ReportBucket(s, 'r', { name: 'b', location: 'EU', env: 'prod', kmsKeyName: key }));
    const b = only(json, 'google_storage_bucket');
    expect(b.encryption).toEqual({ default_kms_key_name: key });
    const grant = resources(json, 'google_kms_crypto_key_iam_member');
    expect(grant).toHaveLength(1);
    expect(grant[0]![1]).toMatchObject({ crypto_key_id: key, role: 'roles/cloudkms.cryptoKeyEncrypterDecrypter' });
    expect(grant[0]![1].member).toMatch(/^serviceAccount:\$\{data\.google_storage_project_service_account\./);
    expect(b.depends_on).toEqual([expect.stringMatching(/^google_kms_crypto_key_iam_member\./)]);
  });

  it('allows force-destroy in dev only', () => {
    const json = synthJson((s) => new ReportBucket(s, 'r', { name: 'b', location: 'EU', env: 'dev', forceDestroy: true }));
    expect(only(json, 'google_storage_bucket').force_destroy).toBe(true);
    for (const env of ['staging', 'prod'] as const) {
      expect(() => synthJson((s) => new ReportBucket(s, 'r', { name: 'b', location: 'EU', env, forceDestroy: true }))).toThrow(/forceDestroy is only allowed in dev/);
    }
  });

  it('refuses inconsistent settings with a message naming the field', () => {
    const mk = (p: object) => () => synthJson((s) => new SecureBucket(s, 'r', { name: 'b', location: 'EU', env: 'prod', ...p }));
    expect(mk({ lifecycle: { nearlineAfterDays: 400, deleteAfterDays: 365 } })).toThrow(/nearlineAfterDays \(400\) must be less than deleteAfterDays/);
    expect(mk({ lifecycle: { deleteAfterDays: -1 } })).toThrow(/lifecycle.deleteAfterDays must be a whole number/);
    expect(mk({ lockRetention: true })).toThrow(/lockRetention needs retentionDays/);
    expect(mk({ retentionDays: 400 })).toThrow(/deleteAfterDays \(365\) is shorter than retentionDays \(400\)/);
    expect(mk({ labels: { Env: 'x' } })).toThrow(/invalid GCP label key "Env"/);
  });

  it('grants object creation to one service account, never a public member', () => {
    const json = synthJson((s) => {
      const b = new ReportBucket(s, 'r', { name: 'b', location: 'EU', env: 'prod' });
      b.grantObjectCreator('report', 'report@p.iam.gserviceaccount.com');
    });
    expect(only(json, 'google_storage_bucket_iam_member')).toMatchObject({ role: 'roles/storage.objectCreator', member: 'serviceAccount:report@p.iam.gserviceaccount.com' });
  });
});
