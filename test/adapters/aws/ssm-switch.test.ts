/**
 * No Parameter Store runs here, so the test serves the SSM JSON protocol (GetParameter only) on 127.0.0.1 and
 * points the real AWS SDK client at it: request signing, serialization and error mapping are the SDK's own.
 */
import { SSMClient } from '@aws-sdk/client-ssm';
import { SsmOperatorSwitch } from '../../../lib/adapters/aws/ssm-switch';
import { ManualClock } from '../../../lib/core/clock';
import { CircuitBreaker } from '../../../lib/core/search/breaker/circuit-breaker';
import { ManualTimers } from '../../../lib/core/search/breaker/timers';
import { ssmGetParameter, startAwsJsonServer, type AwsJsonServer } from './aws-json-server';

const PARAM = '/mm/test/search-proxy/breaker-switch';
let server: AwsJsonServer;
const params: Record<string, string | undefined> = {};
let failWith: number | undefined;
let reads = 0;
const get = ssmGetParameter(params);

beforeAll(async () => {
  server = await startAwsJsonServer({
    'AmazonSSM.GetParameter': (input) => {
      if (failWith) return { status: failWith, body: { __type: 'InternalServerError', message: 'parameter store is having a bad day' } };
      reads++;
      return get(input);
    },
  });
});
afterAll(async () => {
  await server.close();
});

let client: SSMClient;
beforeEach(() => {
  params[PARAM] = undefined;
  failWith = undefined;
  reads = 0;
  server.calls.length = 0;
  client = new SSMClient({ endpoint: server.url, region: 'eu-west-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
});
afterEach(() => client.destroy());

it('reads one position for every breaker, or a JSON object by name with * as default', async () => {
  params[PARAM] = 'open';
  const clock = new ManualClock();
  const sw = new SsmOperatorSwitch({ parameterName: PARAM, client, clock, ttlMs: 5000 });
  await expect(sw.position('search-primary')).resolves.toBe('open');
  expect(server.calls).toEqual(['AmazonSSM.GetParameter']);
  params[PARAM] = '{"search-primary": "closed", "*": "open"}';
  clock.advance(5000);
  await expect(sw.position('search-primary')).resolves.toBe('closed');
  await expect(sw.position('search-fallback')).resolves.toBe('open');
  params[PARAM] = '{"search-primary": "closed"}';
  clock.advance(5000);
  await expect(sw.position('other')).resolves.toBe('auto');
});

it('caches for the TTL: one read however many asks, concurrent asks share the read', async () => {
  params[PARAM] = 'auto';
  const clock = new ManualClock();
  const sw = new SsmOperatorSwitch({ parameterName: PARAM, client, clock, ttlMs: 5000 });
  await Promise.all([sw.position('a'), sw.position('b'), sw.position('c')]);
  clock.advance(4999);
  await sw.position('a');
  expect(reads).toBe(1);
  params[PARAM] = 'closed';
  clock.advance(1);
  await expect(sw.position('a')).resolves.toBe('closed');
  expect(reads).toBe(2);
});

it('a missing parameter means no override', async () => {
  const sw = new SsmOperatorSwitch({ parameterName: PARAM, client });
  await expect(sw.position('x')).resolves.toBe('auto');
});

it('refuses a value it does not understand, naming the parameter', async () => {
  params[PARAM] = 'half-open please';
  await expect(new SsmOperatorSwitch({ parameterName: PARAM, client }).position('x')).rejects.toThrow(`parameter ${PARAM} must be auto, open, closed`);
  params[PARAM] = '{"x": ';
  await expect(new SsmOperatorSwitch({ parameterName: PARAM, client }).position('x')).rejects.toThrow(`parameter ${PARAM} is not valid JSON`);
});

it('when Parameter Store fails, the breaker keeps its last position and reports a sync error', async () => {
  params[PARAM] = 'open';
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
