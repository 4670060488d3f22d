/**
 * Turns a synthesized CloudFormation template into concrete values, as a deploy into one made-up account
 * would: every Ref / Fn::GetAtt / Fn::Join / Fn::Sub / Fn::Select / Fn::Split resolved, physical names made
 * from the logical id where the template gives none. Used to hand real-looking ARNs to the IAM evaluator.
 */
export const ACCOUNT = '111122223333';
export const REGION = 'eu-west-1';
export const PARTITION = 'aws';

export interface CfnResource {
  Type: string;
  Properties?: Record<string, any>;
  [k: string]: unknown;
}
export interface CfnTemplate {
  Resources: Record<string, CfnResource>;
  Parameters?: Record<string, { Default?: unknown }>;
}

const arn = (service: string, resource: string, region = REGION) => `arn:${PARTITION}:${service}:${region}:${ACCOUNT}:${resource}`;

export class CfnResolver {
  /** @param stackName prefix of made-up physical names, as CloudFormation makes them (`<stack>-<logicalId>`). */
  constructor(readonly template: CfnTemplate, readonly stackName = 'stack') {}

  resource(id: string): CfnResource {
    const r = this.template.Resources[id];
    if (!r) throw new Error(`no resource ${id}`);
    return r;
  }

  /** The physical name (what `Ref` returns for named resources), from the template or made up from the id. */
  private name(id: string, prop?: string): string {
    const p = prop ? this.resource(id).Properties?.[prop] : undefined;
    return p === undefined ? `${this.stackName}-${id}` : String(this.resolve(p));
  }

  ref(id: string): string {
    if (id === 'AWS::AccountId') return ACCOUNT;
    if (id === 'AWS::Region') return REGION;
    if (id === 'AWS::Partition') return PARTITION;
    if (id === 'AWS::URLSuffix') return 'amazonaws.com';
    if (id === 'AWS::StackName') return this.stackName;
    if (id === 'AWS::NoValue') return '';
    const param = this.template.Parameters?.[id];
    if (param) return String(param.Default ?? id);
    const r = this.resource(id);
    switch (r.Type) {
      case 'AWS::SNS::Topic':
        return arn('sns', this.name(id, 'TopicName'));
      case 'AWS::SQS::Queue':
        return `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${this.name(id, 'QueueName')}`;
      case 'AWS::KMS::Key':
        return `key-${id}`;
      case 'AWS::IAM::Role':
        return this.name(id, 'RoleName');
      case 'AWS::IAM::ManagedPolicy':
        return arn('iam', `policy/${this.name(id, 'ManagedPolicyName')}`, '');
      case 'AWS::Lambda::Function':
        return this.name(id, 'FunctionName');
      case 'AWS::S3::Bucket':
        return this.name(id, 'BucketName');
      case 'AWS::DynamoDB::GlobalTable':
      case 'AWS::DynamoDB::Table':
        return this.name(id, 'TableName');
      case 'AWS::Logs::LogGroup':
        return this.name(id, 'LogGroupName');
      case 'AWS::SSM::Parameter':
        return this.name(id, 'Name');
      case 'AWS::SecretsManager::Secret':
        return arn('secretsmanager', `secret:${this.name(id, 'Name')}-AbCdEf`);
      case 'AWS::ApiGatewayV2::Api':
        return `api${id.length}`;
      case 'AWS::CloudWatch::Alarm':
        return this.name(id, 'AlarmName');
      default:
        return id;
    }
  }

  getAtt(id: string, attr: string): string {
    const r = this.resource(id);
    const key = `${r.Type}.${attr}`;
    switch (key) {
      case 'AWS::SNS::Topic.TopicArn':
        return this.ref(id);
      case 'AWS::SQS::Queue.Arn':
        return arn('sqs', this.name(id, 'QueueName'));
      case 'AWS::KMS::Key.Arn':
        return arn('kms', `key/${this.ref(id)}`);
      case 'AWS::IAM::Role.Arn':
        return arn('iam', `role/${this.ref(id)}`, '');
      case 'AWS::Lambda::Function.Arn':
        return arn('lambda', `function:${this.ref(id)}`);
      case 'AWS::S3::Bucket.Arn':
        return `arn:${PARTITION}:s3:::${this.ref(id)}`;
      case 'AWS::DynamoDB::GlobalTable.Arn':
      case 'AWS::DynamoDB::Table.Arn':
        return arn('dynamodb', `table/${this.ref(id)}`);
      case 'AWS::Logs::LogGroup.Arn':
        return arn('logs', `log-group:${this.ref(id)}:*`);
      case 'AWS::CloudWatch::Alarm.Arn':
        return arn('cloudwatch', `alarm:${this.ref(id)}`);
      case 'AWS::CloudWatch::CompositeAlarm.Arn':
        return arn('cloudwatch', `alarm:${this.name(id, 'AlarmName')}`);
      case 'AWS::ApiGatewayV2::Api.ApiEndpoint':
        return `https://${this.ref(id)}.execute-api.${REGION}.amazonaws.com`;
      case 'AWS::ApiGatewayV2::Api.ApiId':
        return this.ref(id);
      case 'AWS::Lambda::Url.FunctionUrl':
        return `https://${id.toLowerCase()}.lambda-url.${REGION}.on.aws/`;
      case 'AWS::Scheduler::Schedule.Arn':
        return arn('scheduler', `schedule/default/${this.name(id, 'Name')}`);
      default:
        throw new Error(`cfn-resolve: no rule for Fn::GetAtt ${key}`);
    }
  }

  resolve(v: unknown): any {
    if (Array.isArray(v)) return v.map((x) => this.resolve(x));
    if (v === null || typeof v !== 'object') return v;
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length === 1) {
      const [k] = keys;
      const a = o[k] as any;
      if (k === 'Ref') return this.ref(a);
      if (k === 'Fn::GetAtt') return this.getAtt(a[0], a[1]);
      if (k === 'Fn::Join') return (this.resolve(a[1]) as unknown[]).join(a[0]);
      if (k === 'Fn::Select') return this.resolve(a[1])[Number(this.resolve(a[0]))];
      if (k === 'Fn::Split') return String(this.resolve(a[1])).split(a[0]);
      if (k === 'Fn::Sub') {
        const [text, vars] = Array.isArray(a) ? a : [a, {}];
        return String(text).replace(/\$\{([^}]+)\}/g, (_m, name: string) => {
          if (vars[name] !== undefined) return String(this.resolve(vars[name]));
          const [id, attr] = name.split('.');
          return attr ? this.getAtt(id, attr) : this.ref(id);
        });
      }
      if (k === 'Fn::ImportValue' || k === 'Fn::If') throw new Error(`cfn-resolve: ${k} not supported`);
    }
    return Object.fromEntries(keys.map((k) => [k, this.resolve(o[k])]));
  }

  /** Resources of a type as [logicalId, resource]. */
  ofType(type: string): Array<[string, CfnResource]> {
    return Object.entries(this.template.Resources).filter(([, r]) => r.Type === type);
  }

  /**
   * The identity policies of a role, resolved: inline policies, `AWS::IAM::Policy` resources attached to it,
   * and managed policies of the template it names.
   */
  rolePolicies(roleId: string): Array<{ name: string; policy: any }> {
    const role = this.resource(roleId);
    const out: Array<{ name: string; policy: any }> = [];
    for (const p of role.Properties?.Policies ?? []) out.push({ name: p.PolicyName, policy: this.resolve(p.PolicyDocument) });
    for (const [id, p] of this.ofType('AWS::IAM::Policy')) {
      if ((p.Properties?.Roles ?? []).some((r: any) => r?.Ref === roleId)) out.push({ name: id, policy: this.resolve(p.Properties!.PolicyDocument) });
    }
    for (const [id, p] of this.ofType('AWS::IAM::ManagedPolicy')) {
      if ((p.Properties?.Roles ?? []).some((r: any) => r?.Ref === roleId)) out.push({ name: id, policy: this.resolve(p.Properties!.PolicyDocument) });
    }
    for (const m of role.Properties?.ManagedPolicyArns ?? []) {
      const ref = (m as any)?.Ref as string | undefined;
      if (ref && this.template.Resources[ref]) out.push({ name: ref, policy: this.resolve(this.resource(ref).Properties!.PolicyDocument) });
      else throw new Error(`role ${roleId}: managed policy ${JSON.stringify(m)} is not in the template (cannot evaluate)`);
    }
    return out;
  }
}
