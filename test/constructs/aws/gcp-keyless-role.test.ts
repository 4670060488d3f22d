import { Template, Match } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { GcpKeylessRole } from '../../../lib/constructs/aws/gcp-keyless-role';

const ARN = 'arn:aws:execute-api:eu-west-1:123456789012:abc123/*/*/*';
import { testStack as stack } from './helpers';

describe('GcpKeylessRole', () => {
  it('trusts accounts.google.com for the named service accounts only (aud = azp, sub, oaud), with the session named after the token\'s sub, and may only invoke the tracker API', () => {
    const s = stack();
    new GcpKeylessRole(s, 'Keyless', { googleServiceAccountIds: ['103984732984732984732', '113984732984732984733'], trackerInvokeArns: [ARN] });
    const t = Template.fromStack(s);
    t.resourceCountIs('AWS::IAM::Role', 1);
    t.hasResourceProperties('AWS::IAM::Role', {
      MaxSessionDuration: 3600,
      AssumeRolePolicyDocument: {
        Statement: [
          {
            Action: 'sts:AssumeRoleWithWebIdentity',
            Effect: 'Allow',
            Principal: { Federated: 'accounts.google.com' },
            Condition: {
              StringEquals: {
                'accounts.google.com:aud': ['103984732984732984732', '113984732984732984733'],
                'accounts.google.com:sub': ['103984732984732984732', '113984732984732984733'],
                'accounts.google.com:oaud': 'sts.amazonaws.com',
                'sts:RoleSessionName': '${accounts.google.com:sub}',
              },
            },
          },
        ],
      },
      Policies: [{ PolicyName: 'TrackerApiInvoke', PolicyDocument: { Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: ARN }] } }],
      ManagedPolicyArns: Match.absent(),
    });
    // nothing else is attached
    t.resourceCountIs('AWS::IAM::Policy', 0);
    t.resourceCountIs('AWS::IAM::ManagedPolicy', 0);
  });

  it('refuses e-mails instead of unique ids, and an empty grant', () => {
    expect(() => new GcpKeylessRole(stack(), 'K', { googleServiceAccountIds: ['mm-prod-report@acme.iam.gserviceaccount.com'], trackerInvokeArns: [ARN] })).toThrow(/not a GCP service account unique id/);
    expect(() => new GcpKeylessRole(stack(), 'K', { googleServiceAccountIds: [], trackerInvokeArns: [ARN] })).toThrow(/at least one/);
    expect(() => new GcpKeylessRole(stack(), 'K', { googleServiceAccountIds: ['103984732984732984732'], trackerInvokeArns: [] })).toThrow(/invoke ARN/);
  });

  it('takes the grant from the tracker API construct instead of ARNs', () => {
    const s = stack();
    const grants: unknown[] = [];
    const trackerApi = {
      grantInvoke: (grantee: iam.IGrantable) => {
        grants.push(grantee);
        return iam.Grant.addToPrincipal({ grantee, actions: ['execute-api:Invoke'], resourceArns: [ARN] });
      },
    };
    const k = new GcpKeylessRole(s, 'Keyless', { googleServiceAccountIds: ['103984732984732984732'], trackerApi });
    expect(grants).toEqual([k.role]);
    const t = Template.fromStack(s);
    t.hasResourceProperties('AWS::IAM::Policy', { PolicyDocument: { Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: ARN }] } });
  });
});
