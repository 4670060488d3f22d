import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { HandlerDefaults } from '../../../lib/constructs/aws/handler-function';

/**
 * A stack for construct tests: no esbuild bundling (context `aws:cdk:bundling-stacks: []`) and no built-in
 * CloudFormation schema validation (a WASM engine that costs ~15 s cold; the stack test keeps it on).
 */
export function testStack(): Stack {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] }, builtinCloudFormationValidation: false, analyticsReporting: false });
  return new Stack(app, 'Test');
}

export const handlerDefaults = (over: Partial<HandlerDefaults> = {}): HandlerDefaults => ({
  serviceName: 'migration-monitor',
  metricsNamespace: 'MigrationMonitor/test',
  logRetention: logs.RetentionDays.ONE_WEEK,
  removalPolicy: RemovalPolicy.DESTROY,
  ...over,
});

export const template = (stack: Stack) => Template.fromStack(stack);

/** Resources of a type, as [logicalId, resource] pairs. */
export function resources(t: Template, type: string): Array<[string, { Properties: Record<string, any>; [k: string]: any }]> {
  return Object.entries(t.findResources(type)) as never;
}
