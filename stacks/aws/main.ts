/**
 * CDK app entry (cdk.json: `npx tsx stacks/aws/main.ts`). Environment from context: `-c env=dev|staging|prod`.
 * Env-agnostic stack: synthesizes offline, without AWS credentials; `cdk deploy` picks the account/region
 * from the caller's credentials.
 */
import { App, CfnOutput, Stack } from 'aws-cdk-lib';
import { CiDeployRole } from '../../lib/constructs/aws/ci-deploy-role';
import { ENVIRONMENTS } from '../../lib/config/environments';
import { SearchProxy } from '../../lib/constructs/aws/search-proxy';
import { secretRef } from '../../lib/constructs/aws/secret-ref';
import { ConfigError, configFromContext } from './config';
import { MigrationMonitoringStack } from './migration-monitoring-stack';
import { addNagChecks } from './nag';

export function buildApp(app = new App()): { app: App; stack: MigrationMonitoringStack } {
  const config = configFromContext(app.node);
  const proxy = config.searchProxy;
  const stack = new MigrationMonitoringStack(app, config.stackName, {
    config,
    description: `Migration monitoring (${config.env}): tracker API, reports, alarms, dashboard, schedules`,
    // The search proxy part, when configured: its spec alarms are rendered by MigrationAlarms with the rest.
    searchProxy: proxy
      ? (s) => {
          const sp = new SearchProxy(s, 'SearchProxy', {
            handlerDefaults: s.handlerDefaults,
            primary: proxy.primary,
            fallback: proxy.fallback,
            credentialsSecret: proxy.credentialsSecret ? secretRef(s, 'SearchProxyCredentials', proxy.credentialsSecret) : undefined,
            settings: proxy.settings,
            sharedState: { table: s.progressTable.table },
            parameterPrefix: `${config.parameterPrefix}/search-proxy`,
          });
          return { fn: sp.handler.function, logGroup: sp.handler.logGroup };
        }
      : undefined,
  });
  // The GitHub Actions deploy role (once per account): `cdk deploy MigrationMonitoring-ci -c ciRepository=owner/name`.
  const repository = app.node.tryGetContext('ciRepository') as string | undefined;
  if (repository) {
    const ci = new Stack(app, 'MigrationMonitoring-ci', { description: 'GitHub Actions OIDC deploy role of the migration monitor (assumes the CDK bootstrap roles only)' });
    const role = new CiDeployRole(ci, 'Deploy', { repository, environments: [...ENVIRONMENTS], existingProviderArn: app.node.tryGetContext('ciOidcProviderArn') as string | undefined });
    new CfnOutput(ci, 'DeployRoleArn', { value: role.role.roleArn, description: 'AWS_DEPLOY_ROLE_ARN of the GitHub workflows' });
  }
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
