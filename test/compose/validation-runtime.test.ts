import { assertConnectorsBundled, bundledConnector, runConfiguredValidation } from '../../lib/compose/validation-runtime';
import { isDomainError } from '../../lib/core/errors';
import { validateConfig } from '../../lib/core/validation/config';
import type { TrackerPort } from '../../lib/core/validation/tracker-reporter';

/**
 * A Lambda bundle built without some connector drivers (ValidationFunction `connectors`, esbuild defines
 * MM_BUNDLE_OMIT_*) reads those constants as "true"; from source they are environment variables, which is
 * how this test sets them. The bundle itself is exercised in test/lambda/bundles.test.ts.
 */
const config = validateConfig({
  connectors: {
    cache: { type: 'redis', url: 'redis://127.0.0.1:1', prefix: 'doc:' },
    rows: { type: 'file', path: '/nonexistent/rows.jsonl', key: 'id' },
    db: { type: 'postgres', url: 'postgres://u@127.0.0.1:1/db', table: 'docs', key: 'id' },
  },
  checks: [{ kind: 'count', source: 'cache', target: 'rows' }, { kind: 'count', source: 'db', target: 'rows' }],
});

describe('connector types left out of a bundle', () => {
  const saved = { ...process.env };
  afterEach(() => (process.env = { ...saved }));

  it('are all available from source', () => {
    delete process.env['MM_BUNDLE_OMIT_REDIS'];
    delete process.env['MM_BUNDLE_OMIT_POSTGRES'];
    for (const t of ['postgres', 'dynamodb', 'redis', 'http-json', 'file'] as const) expect(bundledConnector(t)).toBe(true);
    expect(() => assertConnectorsBundled(config)).not.toThrow();
  });

  it('refuse the run before any check or tracker call, naming every missing type, its connectors and the setting to change', async () => {
    process.env['MM_BUNDLE_OMIT_REDIS'] = 'true';
    process.env['MM_BUNDLE_OMIT_POSTGRES'] = 'true';
    const calls: string[] = [];
    const client: TrackerPort = {
      overview: async () => (calls.push('overview'), {}) as never,
      send: async (op) => (calls.push(op.action), {}),
    };
    const err = await runConfiguredValidation(config, { tracker: { client, url: 'http://127.0.0.1:1' } }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isDomainError(err)).toBe(true);
    expect((err as Error).message).toBe(
      'connector type(s) redis, postgres (used by "cache", "db") are not part of this validation bundle: add them to the stack\'s validation.connectors (-c validationConnectors=postgres,dynamodb,redis,http-json,file) and deploy again',
    );
    expect(calls).toEqual([]);
  });

  it('only the omitted types are refused', () => {
    process.env['MM_BUNDLE_OMIT_REDIS'] = 'true';
    expect(bundledConnector('postgres')).toBe(true);
    expect(() => assertConnectorsBundled(config)).toThrow(/connector type\(s\) redis \(used by "cache"\) .*-c validationConnectors=postgres,dynamodb,redis,http-json,file\)/);
    expect(() => assertConnectorsBundled(validateConfig({ connectors: { a: { type: 'file', path: 'a.csv', key: 'id' } }, checks: [{ kind: 'count', source: 'a', target: 'a' }] }))).not.toThrow();
  });
});
