import { configForDeployment, configVariables, parseConfigText, validateConfig, LATENCY_PROFILES } from '../../../lib/core/validation/config';
import { DomainError } from '../../../lib/core/errors';

const problem = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(DomainError);
    expect((e as DomainError).status).toBe(400);
    return (e as Error).message;
  }
  throw new Error('expected the config to be rejected');
};

describe('validation config', () => {
  const yaml = `
name: cutover gate
connectors:
  src: { type: postgres, url: "postgres://u:\${PG_PASS}@127.0.0.1:5432/app", table: items, key: id }
  dst: { type: file, path: items.jsonl, key: id, keyType: number }
checks:
  - { kind: latency, url: http://127.0.0.1:1/search, profile: vector-search }
  - { kind: latency, url: http://127.0.0.1:1/api }
  - { name: rows, kind: count, source: src, target: dst, tolerance: "0.5%" }
  - { kind: sample, source: src, target: dst, vector: { field: embedding } }
`;

  it('parses YAML with defaults, env interpolation and the migration criteria thresholds', () => {
    const cfg = parseConfigText(yaml, 'checks.yaml', { PG_PASS: 's3cret' });
    expect(cfg.name).toBe('cutover gate');
    expect(cfg.connectors['src']).toMatchObject({ type: 'postgres', url: 'postgres://u:s3cret@127.0.0.1:5432/app', schema: 'public', numericAsNumber: true });
    const [vec, api, count, sample] = cfg.checks;
    expect(vec).toMatchObject({ name: 'latency-1', thresholdMs: LATENCY_PROFILES['vector-search'], percentile: 'p95', requests: 50 });
    expect(vec!.kind === 'latency' && vec.thresholdMs).toBe(30);
    expect(api!.kind === 'latency' && api.thresholdMs).toBe(100);
    expect(count).toMatchObject({ name: 'rows', tolerance: '0.5%' });
    expect(sample).toMatchObject({ name: 'sample-4', sampleSize: 1000, seed: 'migration-monitor', vector: { field: 'embedding', epsilon: 1e-5 } });
    expect(cfg.options).toMatchObject({ successRate: 99, maxReportedKeys: 50, failFast: false });
    expect(cfg.tracker).toEqual({ phase: 'validation', completePhaseOnPass: true });
  });

  it('reads JSON too', () => {
    const cfg = parseConfigText(JSON.stringify({ checks: [{ kind: 'tcp', host: 'localhost', port: 5432 }] }), 'checks.json');
    expect(cfg.checks[0]).toMatchObject({ kind: 'tcp', name: 'tcp-1', timeoutMs: 5000 });
  });

  it('names the path of every problem', () => {
    const msg = problem(() =>
      validateConfig({
        connectors: { a: { type: 'file', path: 'x.csv', key: 'id' }, b: { type: 'mysql' } },
        checks: [
          { kind: 'count', source: 'a', target: 'nope' },
          { kind: 'latency', url: 'ftp://x', requests: 0 },
          { kind: 'sample', name: 'dup', source: 'a', target: 'a', bogus: 1 },
          { kind: 'diff', name: 'dup', source: 'a', target: 'a' },
          { kind: 'teleport' },
        ],
      }),
    );
    expect(msg).toMatch(/^invalid validation config: /);
    expect(msg).toContain('connectors.b.type');
    expect(msg).toContain('checks[1].url: must be an http(s) URL');
    expect(msg).toContain('checks[1].requests');
    expect(msg).toContain('checks[2]: Unrecognized key: "bogus"');
    expect(msg).toContain('checks[4].kind');
  });

  it('reports unknown connectors and duplicate names once the shape is right', () => {
    const msg = problem(() =>
      validateConfig({
        connectors: { a: { type: 'file', path: 'x.csv', key: 'id' } },
        checks: [
          { kind: 'count', source: 'a', target: 'nope' },
          { kind: 'diff', name: 'dup', source: 'a', target: 'a' },
          { kind: 'diff', name: 'dup', source: 'a', target: 'a' },
        ],
      }),
    );
    expect(msg).toContain('checks[0].target: unknown connector "nope" (defined: a)');
    expect(msg).toContain('checks[2].name: duplicate check name "dup" (also checks[1])');
  });

  it('names a missing environment variable by where it is used', () => {
    expect(problem(() => parseConfigText(yaml, 'checks.yaml', {}))).toContain('connectors.src.url: environment variable PG_PASS is not set');
    const cfg = parseConfigText('checks: [{kind: tcp, host: "${H:-127.0.0.1}", port: 1}]', 'c.yaml', {});
    expect(cfg.checks[0]).toMatchObject({ host: '127.0.0.1' });
  });

  it('reports a missing environment variable and the schema errors together (one does not hide the other)', () => {
    const msg = problem(() =>
      validateConfig(
        {
          connectors: { src: { type: 'postgres', url: 'postgres://u:${PG_PASS}@h/db', table: 'items', key: 'id' } },
          checks: [{ kind: 'count', source: 'src', target: 'nope' }, { kind: 'latency', url: 'ftp://x' }],
        },
        {},
      ),
    );
    expect(msg).toContain('connectors.src.url: environment variable PG_PASS is not set');
    expect(msg).toContain('checks[1].url: must be an http(s) URL');
    expect(msg).toContain('checks[0].target: unknown connector "nope"');
    // a value emptied by the missing variable is not reported a second time as malformed
    expect(msg.match(/connectors\.src\.url/g)).toHaveLength(1);
    const whole = problem(() => validateConfig({ connectors: { s: { type: 'postgres', url: '${DB_URL}', table: 't', key: 'id' } }, checks: [{ kind: 'tcp', host: 'h', port: 0 }] }, {}));
    expect(whole).toContain('connectors.s.url: environment variable DB_URL is not set');
    expect(whole).not.toContain('must be a postgres:// connection URL');
    expect(whole).toContain('checks[0].port');
  });

  it('rejects broken YAML/JSON and empty configs with the file name', () => {
    expect(problem(() => parseConfigText('checks: [kind: tcp', 'checks.yaml', {}))).toMatch(/checks\.yaml is not valid YAML/);
    expect(problem(() => parseConfigText('{"checks": ', 'checks.json', {}))).toMatch(/checks\.json is not valid JSON/);
    expect(problem(() => parseConfigText('', 'checks.yaml', {}))).toContain('checks.yaml is empty');
    expect(problem(() => parseConfigText('checks: []', 'checks.yaml', {}))).toContain('checks: at least one check is needed');
  });
});

describe('configForDeployment (the config checked at synth, for a function that reads JSON only)', () => {
  const yaml = [
    'connectors:',
    '  src: { type: postgres, url: "postgres://app:${DB_PASSWORD}@db:5432/orders", table: orders, key: id }',
    '  dst: { type: http-json, url: "${TARGET_URL:-https://api.example.com}/items", key: id }',
    'checks:',
    '  - { kind: count, source: src, target: dst, tolerance: 5 }',
  ].join('\n');

  it('gives back the document as JSON, references kept for the run, with the connector types it uses', () => {
    const r = configForDeployment(yaml, 'checks.yaml');
    expect(JSON.parse(r.json)).toEqual({
      connectors: {
        src: { type: 'postgres', url: 'postgres://app:${DB_PASSWORD}@db:5432/orders', table: 'orders', key: 'id' },
        dst: { type: 'http-json', url: '${TARGET_URL:-https://api.example.com}/items', key: 'id' },
      },
      checks: [{ kind: 'count', source: 'src', target: 'dst', tolerance: 5 }],
    });
    expect(r.connectorTypes).toEqual(['postgres', 'http-json']);
    expect(configVariables(JSON.parse(r.json))).toEqual([
      { name: 'DB_PASSWORD', path: 'connectors.src.url', optional: false },
      { name: 'TARGET_URL', path: 'connectors.dst.url', optional: true },
    ]);
    // the same document at run time, with the variable known: the one schema decides
    expect(validateConfig(JSON.parse(r.json), { DB_PASSWORD: 's3cret' }).connectors['src']).toMatchObject({ url: 'postgres://app:s3cret@db:5432/orders' });
  });

  it('checks every value that holds no reference, as the run would, naming the file and each path', () => {
    const bad = yaml.replace('tolerance: 5', 'tolerance: -1').replace('table: orders, key: id }', 'table: orders, key: id, colour: red }');
    const msg = problem(() => configForDeployment(bad, 'checks.yaml'));
    expect(msg).toMatch(/^invalid validation config: checks\.yaml: /);
    expect(msg).toMatch(/checks\[0\]\.tolerance: /);
    expect(msg).toMatch(/connectors\.src: .*colour/);
    expect(msg).not.toMatch(/DB_PASSWORD|TARGET_URL/); // references are the run's to resolve
  });
});
