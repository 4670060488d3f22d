import { Validations, type App } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';

/**
 * cdk-nag v3 as CDK policy-validation plugins: the AwsSolutions and Serverless packs run at synth, an
 * unacknowledged finding fails the synth (report in cdk.out/policy-validation-report.json). Every
 * acknowledgement sits next to the resource it concerns, with its reason.
 */
export function addNagChecks(app: App): void {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
}
