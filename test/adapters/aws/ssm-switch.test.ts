/**
 * No Parameter Store runs here, so the test serves the SSM JSON protocol (GetParameter only) on 127.0.0.1 and
 * points the real AWS SDK client at it: request signing, serialization and error mapping are the SDK's own.
 */
import { SSMClient } from '@aws-sdk/client-ssm';
import { SsmOperatorSwitch } from '../../../lib/adapters/aws/ssm-switch';
import { serveHttp, type RunningServer } from '../../../lib/adapters/local/http-server';
import { json } from '../../../lib/core/http';
import { ManualClock } from '../../../lib/core/clock';
import { CircuitBreaker } from '../../../lib/core/circuit-breaker';
import { ManualTimers } from '../../../lib/core/breaker/timers';

const PARAM = '/mm/test/search-proxy/breaker-switch';
let server: RunningServer;
let value: string | undefined;
let failWith: number | undefined;
let reads = 0;
const targets: string[] = [];

beforeAll(async () => {
  server = await serveHttp(async (req) => {
    targets.push(req.headers['x-amz-target'] ?? '');
    if (failWith) return json(failWith, { __type: 'InternalServerError', message: 'parameter store is having a bad day' }, { 'content-type': 'application/x-amz-json-1.1' });
    const { Name } = JSON.parse(req.body ?? '{}') as { Name: string };
    reads++;
    if (Name !== PARAM || value === undefined) return json(400, { __type: 'ParameterNotFound', message: `${Name} not found` }, { 'content-type': 'application/x-amz-json-1.1' });
    return json(200, { Parameter: { Name, Type: 'String', Value: value, Version: 1 } }, { 'content-type': 'application/x-amz-json-1.1' });
  });
});
afterAll(async () => {
  await server.close();
});

let client: SSMClient;
beforeEach(() => {
  value = undefined;
  failWith = undefined;
  reads = 0;
  targets.length = 0;
  client = new SSMClient({ endpoint: server.url, region: 'eu-west-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
});
afterEach(() => client.destroy());

it('reads one position for every breaker, or a JSON object by name with * as default', async () => {
  value = 'open';
  const clock = new ManualClock();
  const sw = new SsmOperatorSwitch({ parameterName: PARAM, client, clock, ttlMs: 5000 });
  await expect(sw.position('search-primary')).resolves.toBe('open');
  expect(targets).toEqual(['AmazonSSM.GetParameter']);
  value = '{"search-primary": "closed", "*": "open"}';
  clock.advance(5000);
  await expect(sw.position('search-primary')).resolves.toBe('closed');
  await expect(sw.position('search-fallback')).resolves.toBe('open');
  value = '{"search-primary": "closed"}';
  clock.advance(5000);
  await expect(sw.position('other')).resolves.toBe('auto');
});

it('caches for the TTL: one read however many asks, concurrent asks share the read', async () => {
  value = 'auto';
  const clock = new ManualClock();
  const sw = new SsmOperatorSwitch({ parameterName: PARAM, client, clock, ttlMs: 5000 });
  await Promise.all([sw.position('a'), sw.position('b'), sw.position('c')]);
  clock.advance(4999);
  await sw.position('a');
  expect(reads).toBe(1);
  value = 'closed';
  clock.advance(1);
  await expect(sw.position('a')).resolves.toBe('closed');
  expect(reads).toBe(2);
});

it('a missing parameter means no override', async () => {
  const sw = new SsmOperatorSwitch({ parameterName: PARAM, client });
  await expect(sw.position('x')).resolves.toBe('auto');
});

it('refuses a value it does not understand, naming the parameter', async () => {
  value = 'half-open please';
  await expect(new SsmOperatorSwitch({ parameterName: PARAM, client }).position('x')).rejects.toThrow(`parameter ${PARAM} must be auto, open, closed`);
  value = '{"x": ';
  await expect(new SsmOperatorSwitch({ parameterName: PARAM, client }).position('x')).rejects.toThrow(`parameter ${PARAM} is not valid JSON`);
});

it('when Parameter Store fails, the breaker keeps its last position and reports a sync error', async () => {
  value = 'open';
  const timers = new ManualTimers();
  const sw = new SsmOperatorSwitch({ parameterName: PARAM, client, clock: timers, ttlMs: 1000 });
  const b = new CircuitBreaker({ name: 'search-primary', clock: timers, operatorSwitch: sw, switchRefreshMs: 1000 });
  const errors: string[] = [];
  b.on('sync-error', (e) => errors.push(`${e.source}: ${(e.error as Error).message}`));
  await b.sync();
  expect(b.state).toBe('open');
  failWith = 500;
  timers.advance(1000);
  await b.syncIfStale();
  expect(b.state).toBe('open');
  expect(b.stats().forced).toBe('open');
  expect(errors).toHaveLength(1);
  expect(errors[0]).toMatch(/^switch: .*bad day/);
});
