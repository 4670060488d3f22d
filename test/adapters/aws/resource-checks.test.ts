import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { AwsResourceChecker } from '../../../lib/adapters/aws/resource-checks';
import { serveHttp, type RunningServer } from '../../../lib/adapters/http/server';
import { json, router, type HttpRequest } from '../../../lib/core/http';
import { validateConfig } from '../../../lib/core/validation/config';
import { runValidation } from '../../../lib/core/validation/engine';
import { startDynalite, type DynaliteServer } from '../../support/dynalite';
import { startS3rver, type RunningS3 } from '../../support/s3rver';

const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }; // s3rver checks signatures with these; dynalite takes any
let ddb: DynaliteServer;
let s3: RunningS3;
let lambdaApi: RunningServer;
const lambdaCalls: HttpRequest[] = [];

/** Answers GetFunction (GET /2015-03-31/functions/{name}) the way the Lambda API does: JSON body, error type header. */
const FUNCTIONS: Record<string, { State: string; LastUpdateStatus: string; StateReason?: string }> = {
  'search-proxy': { State: 'Active', LastUpdateStatus: 'Successful' },
  warming: { State: 'Pending', LastUpdateStatus: 'InProgress', StateReason: 'The function is being created.' },
  'bad-update': { State: 'Active', LastUpdateStatus: 'Failed' },
};

beforeAll(async () => {
  ddb = await startDynalite();
  const c = new DynamoDBClient({ region: 'us-east-1', endpoint: ddb.endpoint, credentials });
  await c.send(
    new CreateTableCommand({ TableName: 'progress', KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }], AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }], BillingMode: 'PAY_PER_REQUEST' }),
  );
  c.destroy();
  s3 = await startS3rver(['reports']);
  lambdaApi = await serveHttp(
    router([
      {
        method: 'GET',
        path: '/2015-03-31/functions/:name',
        handler: async (req, p) => {
          lambdaCalls.push(req);
          const f = FUNCTIONS[p['name']!];
          if (!f) {
            const r = json(404, { Type: 'User', message: `Function not found: arn:aws:lambda:us-east-1:123456789012:function:${p['name']}` });
            r.headers['x-amzn-errortype'] = 'ResourceNotFoundException';
            return r;
          }
          return json(200, { Configuration: { FunctionName: p['name'], FunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${p['name']}`, Runtime: 'nodejs20.x', ...f } });
        },
      },
    ]),
  );
});
afterAll(async () => {
  await ddb?.stop();
  await s3?.stop();
  await lambdaApi?.close();
});

describe('AWS resource checks', () => {
  const checker = new AwsResourceChecker({ credentials });
  afterAll(() => checker.close());

  it('DynamoDB table ACTIVE / not found (dynalite)', async () => {
    expect(await checker.check({ cloud: 'aws', resource: 'dynamodb-table', name: 'progress', endpoint: ddb.endpoint })).toMatchObject({ ok: true, state: 'ACTIVE', details: { itemCount: 0 } });
    expect(await checker.check({ cloud: 'aws', resource: 'dynamodb-table', name: 'nope', endpoint: ddb.endpoint })).toMatchObject({ ok: false, state: 'not found' });
  });

  it('S3 bucket exists / not found (s3rver)', async () => {
    expect(await checker.check({ cloud: 'aws', resource: 's3-bucket', name: 'reports', endpoint: s3.endpoint })).toMatchObject({ ok: true, state: 'exists' });
    expect(await checker.check({ cloud: 'aws', resource: 's3-bucket', name: 'nope', endpoint: s3.endpoint })).toMatchObject({ ok: false, state: 'not found' });
    const stranger = new AwsResourceChecker({ credentials: { accessKeyId: 'other', secretAccessKey: 'wrong' } });
    expect(await stranger.check({ cloud: 'aws', resource: 's3-bucket', name: 'reports', endpoint: s3.endpoint })).toMatchObject({ ok: false, state: 'access denied' });
    stranger.close();
  });

  // No Lambda emulator runs here: this drives the real SDK client (endpoint override, SigV4 signing, error
  // parsing) against a small local HTTP server that answers GetFunction like the Lambda API would.
  it('Lambda function Active / Pending / failed update / not found, via a local server imitating the Lambda GetFunction API', async () => {
    const endpoint = lambdaApi.url;
    const check = (name: string) => checker.check({ cloud: 'aws', resource: 'lambda-function', name, endpoint, region: 'eu-west-1' });
    expect(await check('search-proxy')).toMatchObject({ ok: true, state: 'Active', details: { lastUpdateStatus: 'Successful', runtime: 'nodejs20.x' } });
    expect(await check('warming')).toMatchObject({ ok: false, state: 'Pending', details: { stateReason: 'The function is being created.' } });
    expect(await check('bad-update')).toMatchObject({ ok: false, state: 'Active', details: { lastUpdateStatus: 'Failed' } });
    expect(await check('gone')).toMatchObject({ ok: false, state: 'not found' });
    expect(lambdaCalls[0]!.headers['authorization']).toMatch(/^AWS4-HMAC-SHA256 Credential=S3RVER\/\d{8}\/eu-west-1\/lambda\/aws4_request/);
  });

  it('through a validation config: one pass, one fail', async () => {
    const cfg = validateConfig({
      checks: [
        { name: 'table', kind: 'aws-resource', resource: 'dynamodb-table', resourceName: 'progress', endpoint: ddb.endpoint },
        { name: 'bucket', kind: 'aws-resource', resource: 's3-bucket', resourceName: 'missing-bucket', endpoint: s3.endpoint },
      ],
    });
    const r = await runValidation(cfg, { createConnector: () => { throw new Error('no connectors'); }, resources: { aws: checker } });
    expect(r.checks.map((c) => [c.name, c.passed, c.summary])).toEqual([
      ['table', true, 'dynamodb-table "progress": ACTIVE'],
      ['bucket', false, 's3-bucket "missing-bucket": not found'],
    ]);
  });
});
