import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import type { HttpRequest, HttpResponse } from '../../core/http';

/** API Gateway HTTP API (payload v2) or Lambda function URL event → runtime-neutral HttpRequest. */
export function toHttpRequest(event: APIGatewayProxyEventV2): HttpRequest {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(event.headers ?? {})) if (v !== undefined) headers[k.toLowerCase()] = v;
  const query: Record<string, string> = {};
  for (const [k, v] of Object.entries(event.queryStringParameters ?? {})) if (v !== undefined) query[k] = v;
  const body =
    event.body === undefined || event.body === null
      ? undefined
      : event.isBase64Encoded
        ? Buffer.from(event.body, 'base64').toString('utf8')
        : event.body;
  return {
    method: (event.requestContext?.http?.method ?? 'GET').toUpperCase(),
    path: event.rawPath || event.requestContext?.http?.path || '/',
    query,
    headers,
    body,
  };
}

export function toApiGatewayResult(res: HttpResponse): APIGatewayProxyResultV2 {
  return { statusCode: res.status, headers: res.headers, body: res.body, isBase64Encoded: false };
}

/** An API Gateway HTTP API (payload v2) / function URL request, as opposed to a scheduled or other event. */
export function isHttpApiEvent(e: unknown): e is APIGatewayProxyEventV2 {
  const ev = e as Partial<APIGatewayProxyEventV2> | null;
  return !!ev && ev.version === '2.0' && typeof ev.requestContext?.http?.method === 'string';
}

/**
 * The IAM identity API Gateway verified (the SigV4 signer) as the request's principal: the author of every change
 * it makes. A caller's X-Actor stays a header, which the API records only as "on behalf of".
 */
export function withIamCaller(event: APIGatewayProxyEventV2, req: HttpRequest): HttpRequest {
  const iam = (event.requestContext as { authorizer?: { iam?: { userArn?: string } } }).authorizer?.iam;
  if (iam?.userArn) req.principal = iam.userArn;
  return req;
}
