/**
 * The search proxies' shared Redis on GCP (`searchProxyRedis`): what `GcpMigrationMonitoring` creates for each
 * choice, and what the proxy gets from it. The deployed path (the bundle against a TLS redis-server with AUTH,
 * the queue, a restart, cutover) is test/matrix/gcp-runtime.test.ts.
 */
import { GcpMigrationMonitoring, type GcpMigrationMonitoringProps } from '../../../lib/constructs/gcp/migration-monitoring';
import { checkGcpPolicies } from '../../../lib/constructs/gcp/policy-checks';
import { gcpDefaults, validateGcpConfig, type GcpConfig } from '../../../lib/config/gcp-settings';
import { only, resources, synthJson, type TfJson } from './synth-helpers';

const stack = (props: GcpMigrationMonitoringProps = {}) =>
  synthJson((s) => {
    new GcpMigrationMonitoring(s, 'mm', { project: 'acme-migration', environment: 'prod', alertEmails: ['oncall@example.com'], skipBundling: true, ...props });
  });
const proxyFn = (json: TfJson) => resources(json, 'google_cloudfunctions2_function').find(([, f]) => f.service_config.environment_variables.MM_HANDLER === 'search-proxy')![1];
const proxyService = (json: TfJson) => resources(json, 'google_cloud_run_v2_service').find(([, f]) => f.name === 'mm-prod-search-proxy')![1];

describe('GcpMigrationMonitoring: the search proxies\' Redis', () => {
  it('by default: a Memorystore instance with AUTH, TLS, no eviction and snapshots, HA in prod, reached through a connector on private ranges only', () => {
    const json = stack();
    const [name, instance] = resources(json, 'google_redis_instance')[0]!;
    expect(instance).toMatchObject({
      name: 'mm-prod-proxy-state',
      tier: 'STANDARD_HA',
      auth_enabled: true,
      transit_encryption_mode: 'SERVER_AUTHENTICATION',
      authorized_network: 'projects/acme-migration/global/networks/default',
      connect_mode: 'DIRECT_PEERING',
      redis_configs: { 'maxmemory-policy': 'noeviction' },
      persistence_config: { persistence_mode: 'RDB' },
    });
    const [connector, c] = resources(json, 'google_vpc_access_connector')[0]!;
    expect(c).toMatchObject({ name: 'mm-prod-proxy', network: 'default', ip_cidr_range: '10.8.0.0/28' });
    const fn = proxyFn(json);
    expect(fn.service_config).toMatchObject({
      vpc_connector: `\${google_vpc_access_connector.${connector}.id}`,
      vpc_connector_egress_settings: 'PRIVATE_RANGES_ONLY',
      environment_variables: {
        BREAKER_STATE_REDIS_URL: `rediss://\${google_redis_instance.${name}.host}:\${google_redis_instance.${name}.port}`,
        BREAKER_STATE_REDIS_CA: `\${join("\\n", google_redis_instance.${name}.server_ca_certs[*].cert)}`,
        BREAKER_SWITCH_REDIS_KEY: 'mm:search-proxy:switch',
      },
    });
    expect(fn.service_config.secret_environment_variables).toContainEqual(expect.objectContaining({ key: 'BREAKER_STATE_REDIS_AUTH', secret: 'mm-prod-search-proxy-redis-auth' }));
    // the AUTH string reaches Secret Manager write-only, from the instance, before the proxy starts
    const [version, v] = resources(json, 'google_secret_manager_secret_version')[0]!;
    expect(v).toMatchObject({ secret_data_wo: `\${google_redis_instance.${name}.auth_string}`, secret_data_wo_version: 1 });
    expect(v.secret_data).toBeUndefined();
    expect(fn.depends_on).toContain(`google_secret_manager_secret_version.${version}`);
    // only the proxy reads the secret; the other handlers get no Redis and no VPC
    const accessors = resources(json, 'google_secret_manager_secret_iam_member').filter(([, m]) => m.secret_id.includes('search-proxy-redis-auth'));
    expect(accessors).toHaveLength(1);
    expect(accessors[0]![1].member).toBe(`serviceAccount:${fn.service_config.service_account_email}`);
    for (const [, f] of resources(json, 'google_cloudfunctions2_function').filter(([, f]) => f !== fn)) {
      expect(f.service_config.vpc_connector).toBeUndefined();
      expect(Object.keys(f.service_config.environment_variables).filter((k) => k.startsWith('BREAKER_'))).toEqual([]);
    }
    expect(checkGcpPolicies(json)).toEqual([]);
  });

  it('dev: a basic-tier instance; the settings choose network, size, connector range and switch key', () => {
    const json = stack({ environment: 'dev', alertEmails: undefined, searchProxyRedis: { type: 'memorystore', network: 'migration-vpc', memorySizeGb: 2, connectorCidr: '10.9.0.16/28', switchKey: 'acme:switch' } });
    expect(only(json, 'google_redis_instance')).toMatchObject({ tier: 'BASIC', memory_size_gb: 2, authorized_network: 'projects/acme-migration/global/networks/migration-vpc' });
    expect(only(json, 'google_vpc_access_connector')).toMatchObject({ network: 'migration-vpc', ip_cidr_range: '10.9.0.16/28' });
    expect(proxyFn(json).service_config.environment_variables.BREAKER_SWITCH_REDIS_KEY).toBe('acme:switch');
  });

  it('a proxy on a Cloud Run service (an image) uses Direct VPC egress: no connector', () => {
    const settings = gcpDefaults('prod');
    settings.handlers.searchProxy.image = 'europe-docker.pkg.dev/acme/mm/search-proxy:1';
    settings.alerts.channels = [{ purpose: 'on-call', emails: ['oncall@example.com'], severities: ['critical', 'warning'] }];
    const json = stack({ settings, alertEmails: undefined, environment: undefined, searchProxyRedis: { type: 'memorystore', subnetwork: 'proxy-subnet' } });
    expect(resources(json, 'google_vpc_access_connector')).toEqual([]);
    const svc = proxyService(json);
    expect(svc.template.vpc_access).toEqual({ egress: 'PRIVATE_RANGES_ONLY', network_interfaces: [{ network: 'default', subnetwork: 'proxy-subnet' }] });
    expect(svc.template.containers[0].env).toContainEqual(expect.objectContaining({ name: 'BREAKER_STATE_REDIS_AUTH', value_source: { secret_key_ref: { secret: 'mm-prod-search-proxy-redis-auth', version: 'latest' } } }));
  });

  it('an existing connector is used as it is', () => {
    const json = stack({ searchProxyRedis: { type: 'memorystore', vpcConnector: 'projects/acme-migration/locations/europe-west1/connectors/shared' } });
    expect(resources(json, 'google_vpc_access_connector')).toEqual([]);
    expect(proxyFn(json).service_config.vpc_connector).toBe('projects/acme-migration/locations/europe-west1/connectors/shared');
  });

  it('bring your own Redis: its URL (with its password) from a secret you fill, its CA as a plain variable, no instance', () => {
    const ca = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
    const json = stack({ searchProxyRedis: { type: 'external', network: 'shared-vpc', ca } });
    expect(resources(json, 'google_redis_instance')).toEqual([]);
    expect(resources(json, 'google_secret_manager_secret_version')).toEqual([]); // filled out of band
    expect(resources(json, 'google_secret_manager_secret').map(([, s]) => s.secret_id)).toContain('mm-prod-search-proxy-redis-url');
    const fn = proxyFn(json);
    expect(fn.service_config.environment_variables).toMatchObject({ BREAKER_STATE_REDIS_CA: ca, BREAKER_SWITCH_REDIS_KEY: 'mm:search-proxy:switch' });
    expect(fn.service_config.environment_variables.BREAKER_STATE_REDIS_URL).toBeUndefined();
    expect(fn.service_config.secret_environment_variables).toContainEqual(expect.objectContaining({ key: 'BREAKER_STATE_REDIS_URL', secret: 'mm-prod-search-proxy-redis-url' }));
    expect(only(json, 'google_vpc_access_connector').network).toBe('shared-vpc');
  });

  it('none: no Redis, no VPC path, no Redis variable (the queue is in memory and the stage is the settings\')', () => {
    const json = stack({ searchProxyRedis: { type: 'none' } });
    expect(resources(json, 'google_redis_instance')).toEqual([]);
    expect(resources(json, 'google_vpc_access_connector')).toEqual([]);
    const fn = proxyFn(json);
    expect(fn.service_config.vpc_connector).toBeUndefined();
    expect(Object.keys(fn.service_config.environment_variables).filter((k) => k.startsWith('BREAKER_'))).toEqual([]);
  });

  it('settings made before the field existed (passed whole, not re-validated) get the Memorystore default', () => {
    const { searchProxyRedis: _omitted, ...older } = gcpDefaults('dev');
    const json = synthJson((s) => {
      new GcpMigrationMonitoring(s, 'mm', { settings: { ...older, project: 'acme-migration' } as GcpConfig, skipBundling: true });
    });
    expect(only(json, 'google_redis_instance')).toMatchObject({ tier: 'BASIC', auth_enabled: true });
  });

  it('the config file form is checked: a connector range must be a /28, an unknown type or key is refused', () => {
    const base = gcpDefaults('dev');
    expect(validateGcpConfig({ ...base, searchProxyRedis: { type: 'memorystore', connectorCidr: '10.8.0.0/28' } }).searchProxyRedis).toEqual({ type: 'memorystore', connectorCidr: '10.8.0.0/28' });
    expect(() => validateGcpConfig({ ...base, searchProxyRedis: { type: 'memorystore', connectorCidr: '10.8.0.0/24' } })).toThrow(/searchProxyRedis\.connectorCidr.*\/28/);
    expect(() => validateGcpConfig({ ...base, searchProxyRedis: { type: 'elasticache' } })).toThrow(/searchProxyRedis/);
    expect(() => validateGcpConfig({ ...base, searchProxyRedis: { type: 'none', network: 'x' } })).toThrow(/searchProxyRedis/);
    const { searchProxyRedis: _omitted, ...withoutIt } = base;
    expect(validateGcpConfig(withoutIt).searchProxyRedis).toEqual({ type: 'memorystore' });
  });

  it('the policy check still refuses a secret version with a literal value, write-only or not', () => {
    const json = stack();
    const [name, v] = resources(json, 'google_secret_manager_secret_version')[0]!;
    json.resource!['google_secret_manager_secret_version']![name] = { ...v, secret_data_wo: 'hunter2-literal' };
    expect(checkGcpPolicies(json).map((x) => x.rule)).toContain('secret-value');
  });
});
