/**
 * CDK app entry (cdk.json: `npx tsx stacks/aws/main.ts`). Environment from context: `-c env=dev|staging|prod`.
 * Env-agnostic stack: synthesizes offline, without AWS credentials; `cdk deploy` picks the account/region
 * from the caller's credentials.
 */
import { App } from 'aws-cdk-lib';
import { ConfigError, configFromContext } from './config';
import { MigrationMonitoringStack } from './migration-monitoring-stack';
import { addNagChecks } from './nag';

export function buildApp(app = new App()): { app: App; stack: MigrationMonitoringStack } {
  const config = configFromContext(app.node);
  const stack = new MigrationMonitoringStack(app, config.stackName, {
    config,
    description: `Migration monitoring (${config.env}): tracker API, alarms, dashboard, schedules`,
  });
  addNagChecks(app);
  return { app, stack };
}

if (require.main === module) {
  try {
    buildApp().app.synth();
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`synth: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
}
