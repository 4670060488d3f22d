import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import type { HttpRequest, HttpResponse } from '../../lib/core/http';

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
