import { serveHttp, type RunningServer } from '../../../lib/adapters/http/server';
import { json } from '../../../lib/core/http';

/**
 * A server for the AWS JSON protocol (awsJson1_1: POST /, operation in `x-amz-target`), for services that
 * cannot run here (SSM Parameter Store, Secrets Manager). The real SDK clients talk to it, so signing,
 * serialization and error mapping are the SDK's own; each test decides what an operation answers.
 */
export type AwsJsonOperation = (input: Record<string, unknown>) => { status?: number; body: Record<string, unknown> };

export interface AwsJsonServer {
  url: string;
  /** `x-amz-target` of every request, in order. */
  calls: string[];
  close(): Promise<void>;
}

export async function startAwsJsonServer(ops: Record<string, AwsJsonOperation>): Promise<AwsJsonServer> {
  const calls: string[] = [];
  const server: RunningServer = await serveHttp(async (req) => {
    const target = req.headers['x-amz-target'] ?? '';
    calls.push(target);
    const op = ops[target];
    const headers = { 'content-type': 'application/x-amz-json-1.1' };
    if (!op) return json(400, { __type: 'UnknownOperationException', message: `no operation ${target}` }, headers);
    const r = op(JSON.parse(req.body ?? '{}') as Record<string, unknown>);
    return json(r.status ?? 200, r.body, headers);
  });
  return { url: server.url, calls, close: () => server.close() };
}

/** SSM GetParameter over a map of names to values (missing: ParameterNotFound). */
export const ssmGetParameter =
  (params: Record<string, string | undefined>): AwsJsonOperation =>
  (input) => {
    const name = String(input['Name']);
    const value = params[name];
    if (value === undefined) return { status: 400, body: { __type: 'ParameterNotFound', message: `${name} not found` } };
    return { body: { Parameter: { Name: name, Type: 'String', Value: value, Version: 1 } } };
  };

/** Secrets Manager GetSecretValue over a map of ids to secret strings. */
export const secretsGetSecretValue =
  (secrets: Record<string, string>): AwsJsonOperation =>
  (input) => {
    const id = String(input['SecretId']);
    const value = secrets[id];
    if (value === undefined) return { status: 400, body: { __type: 'ResourceNotFoundException', message: `Secrets Manager can't find the specified secret.` } };
    return { body: { ARN: `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${id}`, Name: id, SecretString: value } };
  };
