import { CfnElement, Stack } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * How cdk-nag names a resource inside a finding id (`<LogicalId>`, `<LogicalId.Arn>`), computed from the
 * construct so acknowledgements do not hard-code logical ids that change when the tree moves.
 */
export function nagRef(c: IConstruct, attribute?: string): string | undefined {
  const el = c instanceof CfnElement ? c : c.node.defaultChild;
  if (!(el instanceof CfnElement)) return undefined;
  const id = Stack.of(el).getLogicalId(el);
  return `<${id}${attribute ? `.${attribute}` : ''}>`;
}
