import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SesNotifier } from '../../../lib/adapters/aws/ses-notifier';
import { buildStatusReport } from '../../../lib/core/report/model';
import { toMessage } from '../../../lib/core/report/render';
import { busySim } from '../../core/report/fixture';
import { startCapture, type CaptureServer } from '../../support/http-capture';

/**
 * No SES emulator runs here: these tests point the SESv2 client's endpoint at a local receiver that records
 * the request the SDK puts on the wire and answers with SES's documented responses (recorded exchange).
 */
describe('SesNotifier (SESv2 client endpoint override, recorded SES answers)', () => {
  let ses: CaptureServer;
  beforeEach(async () => (ses = await startCapture()));
  afterEach(async () => ses.stop());
  const client = () => new SESv2Client({ endpoint: ses.url, region: 'eu-west-1', credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' }, maxAttempts: 1 });

  it('sends SendEmail with text and HTML bodies, recipients, the report id header and a migration tag', async () => {
    ses.respond(200, JSON.stringify({ MessageId: '0102018e-abc' }), { 'content-type': 'application/json' });
    const s = busySim();
    const m = toMessage(buildStatusReport({ state: s.state, activity: s.activity, now: s.now() }));
    const r = await new SesNotifier({ from: 'reports@example.com', to: ['oncall@example.com'], client: client(), configurationSet: 'reports' }).send(m);
    expect(r).toEqual({ id: '0102018e-abc', to: ['oncall@example.com'] });
    const req = ses.requests[0]!;
    expect(req.method).toBe('POST');
    expect(req.url).toBe('/v2/email/outbound-emails');
    expect(req.headers['authorization']).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDTEST\/\d{8}\/eu-west-1\/ses\/aws4_request/);
    const body = JSON.parse(req.body);
    expect(body.FromEmailAddress).toBe('reports@example.com');
    expect(body.Destination).toEqual({ ToAddresses: ['oncall@example.com'] });
    expect(body.Content.Simple.Subject.Data).toBe(m.subject);
    expect(body.Content.Simple.Body.Text.Data).toBe(m.text);
    expect(body.Content.Simple.Body.Html.Data).toBe(m.html);
    expect(body.Content.Simple.Headers).toEqual([{ Name: 'X-Migration-Report-Id', Value: 'orders-db/2026-03-02' }]);
    expect(body.EmailTags).toEqual([{ Name: 'migration', Value: 'orders-db' }]);
    expect(body.ConfigurationSetName).toBe('reports');
  });

  it('fails naming the SES error when the sender is not verified', async () => {
    ses.respond(400, JSON.stringify({ message: 'Email address is not verified. The following identities failed the check: reports@example.com' }), {
      'content-type': 'application/json',
      'x-amzn-errortype': 'MessageRejected',
    });
    const s = busySim();
    const m = toMessage(buildStatusReport({ state: s.state, activity: s.activity, now: s.now() }));
    await expect(new SesNotifier({ from: 'reports@example.com', to: ['a@x.test'], client: client() }).send(m)).rejects.toThrow(/SES SendEmail: MessageRejected: Email address is not verified/);
  });
});
