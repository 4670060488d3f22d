import { Construct } from 'constructs';
import { StorageBucket, type StorageBucketLifecycleRule } from '@cdktf/provider-google/lib/storage-bucket';
import { StorageBucketIamMember } from '@cdktf/provider-google/lib/storage-bucket-iam-member';
import { KmsCryptoKeyIamMember } from '@cdktf/provider-google/lib/kms-crypto-key-iam-member';
import { DataGoogleStorageProjectServiceAccount } from '@cdktf/provider-google/lib/data-google-storage-project-service-account';
import { checkLabels, saMember, type Environment } from './common';

export interface BucketLifecycle {
  /** Move objects to NEARLINE after this many days; 0 turns the rule off. Default 30. */
  nearlineAfterDays?: number;
  /** Delete objects after this many days; 0 keeps them for ever. Default 365. */
  deleteAfterDays?: number;
  /** With versioning, delete non-current versions this many days after they were replaced. Default 30. */
  noncurrentDeleteAfterDays?: number;
}

export interface SecureBucketProps {
  /** Globally unique bucket name (may contain Terraform expressions). */
  name: string;
  location: string;
  project?: string;
  env: Environment;
  labels?: Record<string, string>;
  /** Default true. Turned off when a retention policy is set (GCS does not allow both). */
  versioning?: boolean;
  lifecycle?: BucketLifecycle;
  /** Objects cannot be deleted or replaced before this many days. */
  retentionDays?: number;
  /** Lock the retention policy (irreversible in GCP). Only with retentionDays. */
  lockRetention?: boolean;
  /** CMEK: full KMS key name `projects/../locations/../keyRings/../cryptoKeys/..`. The GCS service agent is granted encrypt/decrypt on it. */
  kmsKeyName?: string;
  /** Let `terraform destroy` delete a bucket that still holds objects. Refused outside `dev`. */
  forceDestroy?: boolean;
}

const DEFAULT_LIFECYCLE: Required<BucketLifecycle> = { nearlineAfterDays: 30, deleteAfterDays: 365, noncurrentDeleteAfterDays: 30 };

/**
 * A bucket that is private by construction: uniform bucket-level access (no object ACLs), public access
 * prevention ENFORCED (the API default is only "inherited"), versioning, lifecycle rules, optional retention
 * and CMEK, labels, and no force-destroy outside dev.
 */
export class SecureBucket extends Construct {
  readonly bucket: StorageBucket;
  readonly name: string;

  constructor(scope: Construct, id: string, props: SecureBucketProps) {
    super(scope, id);
    const lc = { ...DEFAULT_LIFECYCLE, ...props.lifecycle };
    for (const [k, v] of Object.entries(lc)) {
      if (!Number.isInteger(v) || v < 0) throw new Error(`${id}: lifecycle.${k} must be a whole number of days >= 0 (got ${v})`);
    }
    if (lc.nearlineAfterDays && lc.deleteAfterDays && lc.nearlineAfterDays >= lc.deleteAfterDays) {
      throw new Error(`${id}: lifecycle.nearlineAfterDays (${lc.nearlineAfterDays}) must be less than deleteAfterDays (${lc.deleteAfterDays})`);
    }
    if (props.forceDestroy && props.env !== 'dev') throw new Error(`${id}: forceDestroy is only allowed in dev (env is ${props.env}): it deletes every report with the bucket`);
    if (props.retentionDays !== undefined && (!Number.isInteger(props.retentionDays) || props.retentionDays < 1)) {
      throw new Error(`${id}: retentionDays must be a whole number >= 1 (got ${props.retentionDays})`);
    }
    if (props.lockRetention && props.retentionDays === undefined) throw new Error(`${id}: lockRetention needs retentionDays`);
    if (props.retentionDays && lc.deleteAfterDays && lc.deleteAfterDays < props.retentionDays) {
      throw new Error(`${id}: lifecycle.deleteAfterDays (${lc.deleteAfterDays}) is shorter than retentionDays (${props.retentionDays})`);
    }
    const versioning = props.retentionDays === undefined && props.versioning !== false;

    const rules: StorageBucketLifecycleRule[] = [];
    if (lc.nearlineAfterDays) {
      rules.push({ action: { type: 'SetStorageClass', storageClass: 'NEARLINE' }, condition: { age: lc.nearlineAfterDays, matchesStorageClass: ['STANDARD'] } });
    }
    if (lc.deleteAfterDays) rules.push({ action: { type: 'Delete' }, condition: { age: lc.deleteAfterDays } });
    if (versioning && lc.noncurrentDeleteAfterDays) {
      rules.push({ action: { type: 'Delete' }, condition: { daysSinceNoncurrentTime: lc.noncurrentDeleteAfterDays, withState: 'ARCHIVED' } });
    }

    let kmsGrant: KmsCryptoKeyIamMember | undefined;
    if (props.kmsKeyName) {
      // GCS encrypts with the project's Cloud Storage service agent: it needs the key before the bucket uses it.
      const agent = new DataGoogleStorageProjectServiceAccount(this, 'gcs-agent', { project: props.project });
      kmsGrant = new KmsCryptoKeyIamMember(this, 'gcs-agent-kms', {
        cryptoKeyId: props.kmsKeyName,
        role: 'roles/cloudkms.cryptoKeyEncrypterDecrypter',
        member: saMember(agent.emailAddress),
      });
    }

    this.bucket = new StorageBucket(this, 'bucket', {
      name: props.name,
      location: props.location,
      project: props.project,
      uniformBucketLevelAccess: true,
      publicAccessPrevention: 'enforced',
      versioning: { enabled: versioning },
      lifecycleRule: rules,
      retentionPolicy: props.retentionDays ? { retentionPeriod: props.retentionDays * 86400, isLocked: props.lockRetention ?? false } : undefined,
      encryption: props.kmsKeyName ? { defaultKmsKeyName: props.kmsKeyName } : undefined,
      forceDestroy: props.forceDestroy ?? false,
      labels: checkLabels({ ...(props.labels ?? {}) }),
      dependsOn: kmsGrant ? [kmsGrant] : undefined,
    });
    this.name = this.bucket.name;
  }

  /** Let one service account create objects (not read, replace or delete them). */
  grantObjectCreator(id: string, serviceAccountEmail: string): StorageBucketIamMember {
    return new StorageBucketIamMember(this, `creator-${id}`, { bucket: this.bucket.name, role: 'roles/storage.objectCreator', member: saMember(serviceAccountEmail) });
  }

  /**
   * Let one service account overwrite (and so delete) only the objects whose name ends with `suffix`, e.g. the
   * one mutable `<migration>/latest.json` summary. An IAM condition; needs uniform bucket-level access (on).
   */
  grantReplaceOnly(id: string, serviceAccountEmail: string, suffix: string): StorageBucketIamMember {
    if (!/^[A-Za-z0-9._\-/]+$/.test(suffix)) throw new Error(`grantReplaceOnly: suffix "${suffix}" may only hold letters, digits, ".", "_", "-" and "/"`);
    return new StorageBucketIamMember(this, `replace-${id}`, {
      bucket: this.bucket.name,
      role: 'roles/storage.objectUser',
      member: saMember(serviceAccountEmail),
      condition: { title: `only-${suffix.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '')}`, description: `Replace objects named *${suffix} only`, expression: `resource.name.endsWith("${suffix}")` },
    });
  }

  /** Let one service account read objects. */
  grantObjectViewer(id: string, serviceAccountEmail: string): StorageBucketIamMember {
    return new StorageBucketIamMember(this, `viewer-${id}`, { bucket: this.bucket.name, role: 'roles/storage.objectViewer', member: saMember(serviceAccountEmail) });
  }
}

export type ReportBucketProps = SecureBucketProps;

/** The bucket the daily reports and validation reports land in (GCS report sink). */
export class ReportBucket extends SecureBucket {
  constructor(scope: Construct, id: string, props: ReportBucketProps) {
    super(scope, id, { ...props, labels: { purpose: 'reports', ...(props.labels ?? {}) } });
  }
}
