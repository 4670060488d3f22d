import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { TABLE_KEYS } from '../../adapters/aws/dynamodb-store';

export interface ProgressTableProps {
  /** Deletion protection (on outside dev). */
  deletionProtection: boolean;
  removalPolicy: RemovalPolicy;
  /**
   * Bring your own table with the store's layout (string keys `pk`/`sk` as in TABLE_KEYS, TTL on `expiresAt`);
   * then none is created.
   * @default - a new on-demand table
   */
  readonly table?: dynamodb.ITable;
}

/**
 * The tracker's DynamoDB table (the DynamoDbProgressStore's layout): on-demand, point-in-time recovery,
 * encrypted with an AWS-managed key, TTL on `expiresAt` so old activity ages out, deletion protection
 * outside dev.
 */
export class ProgressTable extends Construct {
  readonly table: dynamodb.ITable;

  constructor(scope: Construct, id: string, props: ProgressTableProps) {
    super(scope, id);
    if (props.table) {
      this.table = props.table;
      return;
    }
    this.table = new dynamodb.TableV2(this, 'Table', {
      partitionKey: { name: TABLE_KEYS.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: TABLE_KEYS.sortKey, type: dynamodb.AttributeType.STRING },
      billing: dynamodb.Billing.onDemand(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryptionV2.awsManagedKey(),
      timeToLiveAttribute: TABLE_KEYS.ttlAttribute,
      deletionProtection: props.deletionProtection,
      removalPolicy: props.removalPolicy,
    });
  }

  /** Read/write items (no table administration): what the tracker handler needs. */
  grantStore(grantee: iam.IGrantable) {
    return this.table.grantReadWriteData(grantee);
  }
}
