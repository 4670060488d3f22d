import { Construct } from 'constructs';
import { Fn, TerraformStack, Token, ref, type ITerraformDependable } from 'cdktf';
import { RedisInstance } from '@cdktf/provider-google/lib/redis-instance';
import { SecretManagerSecretVersion } from '@cdktf/provider-google/lib/secret-manager-secret-version';
import { VpcAccessConnector } from '@cdktf/provider-google/lib/vpc-access-connector';
import type { SearchProxyRedisSettings } from '../../config/gcp-settings';
import type { HandlerVpc } from './cloud-run-handler';
import { checkLabels, type GcpPlacement } from './common';
import type { HandlerSecrets, SecretSpec } from './secrets';

export type ProxyRedisSettings = Exclude<SearchProxyRedisSettings, { type: 'none' }>;

/** The secret each kind of Redis needs: the Memorystore AUTH string (filled by the stack), or your URL (filled by you). */
export const PROXY_REDIS_SECRET: Record<ProxyRedisSettings['type'], SecretSpec> = {
  memorystore: { id: 'search-proxy-redis-auth', description: 'AUTH string of the search proxies\' Memorystore instance (written by the stack from the instance)' },
  external: { id: 'search-proxy-redis-url', description: 'redis:// or rediss:// URL, with its password, of the Redis the search proxies share' },
};

export const DEFAULT_SWITCH_KEY = 'mm:search-proxy:switch';
export const DEFAULT_CONNECTOR_CIDR = '10.8.0.0/28';

export interface ProxyRedisProps {
  readonly placement: GcpPlacement;
  readonly settings: ProxyRedisSettings;
  /** Holds `PROXY_REDIS_SECRET[settings.type]`. */
  readonly secrets: HandlerSecrets;
  /** The proxy runs as a Cloud Run service (an image): Direct VPC egress. Otherwise it is a function and reaches the VPC through a connector. */
  readonly directVpcEgress: boolean;
}

/**
 * The Redis the GCP search proxies share (breaker state, the replay queue of writes a store missed, the operator
 * switch that `cutover`/`rollback` move), and what the proxy needs to reach it: plain variables, one secret
 * variable, and a way into the VPC. The variables are the ones lib/compose/redis-env.ts reads, for the proxy and
 * the CLI alike.
 *
 * Memorystore (default): AUTH on, in-transit encryption (`SERVER_AUTHENTICATION`: `rediss://`, verified against
 * the instance's own CA), `noeviction` (a queue must never be evicted), RDB snapshots every hour, a replica with
 * failover in prod. The AUTH string goes to Secret Manager as a write-only value (not stored in the secret
 * version's state; the instance's own state holds it, as it does for any Memorystore with AUTH).
 */
export class ProxyRedis extends Construct {
  /** Plain variables of the proxy: `BREAKER_STATE_REDIS_URL` (Memorystore), `BREAKER_STATE_REDIS_CA`, `BREAKER_SWITCH_REDIS_KEY`. */
  readonly environment: Record<string, string>;
  /** Secret variables of the proxy: variable → secret id in `secrets`. */
  readonly secretEnv: Record<string, string>;
  readonly vpc: HandlerVpc;
  /** What the proxy must wait for (the AUTH string's secret version). */
  readonly dependsOn: ITerraformDependable[];
  readonly switchKey: string;
  readonly instance?: RedisInstance;
  readonly connector?: VpcAccessConnector;
  /** `rediss://<host>:<port>` of the Memorystore instance (external: undefined, the URL is in the secret). */
  readonly url?: string;
  /** PEM of the CA(s) the proxy verifies the server against, when TLS is on. */
  readonly ca?: string;

  constructor(scope: Construct, id: string, props: ProxyRedisProps) {
    super(scope, id);
    const { placement, settings } = props;
    const network = settings.network ?? 'default';
    const networkPath = network.includes('/') ? network : `projects/${placement.project}/global/networks/${network}`;
    this.switchKey = settings.switchKey ?? DEFAULT_SWITCH_KEY;
    const secret = props.secrets.ref(PROXY_REDIS_SECRET[settings.type].id);
    this.dependsOn = [];

    if (props.directVpcEgress) {
      this.vpc = settings.vpcConnector ? { connector: settings.vpcConnector } : { network, ...(settings.subnetwork ? { subnetwork: settings.subnetwork } : {}) };
    } else if (settings.vpcConnector) {
      this.vpc = { connector: settings.vpcConnector };
    } else {
      // A function reaches private IPs only through a connector: the smallest one (2-3 e2-micro).
      this.connector = new VpcAccessConnector(this, 'connector', {
        project: placement.project,
        region: placement.region,
        name: `${placement.namePrefix}-proxy`,
        network,
        ipCidrRange: settings.connectorCidr ?? DEFAULT_CONNECTOR_CIDR,
        machineType: 'e2-micro',
        minInstances: 2,
        maxInstances: 3,
      });
      this.vpc = { connector: this.connector.id };
    }

    if (settings.type === 'memorystore') {
      const instance = (this.instance = new RedisInstance(this, 'instance', {
        project: placement.project,
        region: placement.region,
        name: `${placement.namePrefix}-proxy-state`,
        displayName: `migration-monitor search proxy state (${placement.env})`,
        tier: settings.tier ?? (placement.env === 'prod' ? 'STANDARD_HA' : 'BASIC'),
        memorySizeGb: settings.memorySizeGb ?? 1,
        redisVersion: settings.redisVersion ?? 'REDIS_7_2',
        authorizedNetwork: networkPath,
        connectMode: settings.connectMode ?? 'DIRECT_PEERING',
        authEnabled: true,
        transitEncryptionMode: 'SERVER_AUTHENTICATION',
        // the replay queue and the switch have no TTL and must never be evicted: a full instance refuses writes instead
        redisConfigs: { 'maxmemory-policy': 'noeviction' },
        persistenceConfig: { persistenceMode: 'RDB', rdbSnapshotPeriod: 'ONE_HOUR' },
        labels: checkLabels({ ...placement.labels, purpose: 'search-proxy-state' }),
      }));
      // write-only: Terraform sends it to Secret Manager and keeps no copy in the version's state
      const version = new SecretManagerSecretVersion(this, 'auth', { secret: secret.resource.id, secretDataWo: instance.authString, secretDataWoVersion: 1 });
      this.dependsOn.push(version);
      this.url = `rediss://${instance.host}:${Token.asString(instance.port)}`;
      // every CA the instance has (two while one is rotated in): the proxy trusts both
      this.ca = Fn.join('\n', Token.asList(ref(`${instance.terraformResourceType}.${instance.friendlyUniqueId}.server_ca_certs[*].cert`, TerraformStack.of(this))));
      this.environment = { BREAKER_STATE_REDIS_URL: this.url, BREAKER_STATE_REDIS_CA: this.ca, BREAKER_SWITCH_REDIS_KEY: this.switchKey };
      this.secretEnv = { BREAKER_STATE_REDIS_AUTH: secret.id };
    } else {
      this.ca = settings.ca;
      this.environment = { ...(settings.ca ? { BREAKER_STATE_REDIS_CA: settings.ca } : {}), BREAKER_SWITCH_REDIS_KEY: this.switchKey };
      this.secretEnv = { BREAKER_STATE_REDIS_URL: secret.id };
    }
  }
}
