import { GetParameterCommand, ParameterNotFound, PutParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { parseSwitchValue, stageIn, withStage, type SwitchValue } from '../../core/search/switch-value';
import type { ProxyStage } from '../../core/search/writes';

// The operator's side of the switch (cutover, rollback): kept apart from ssm-switch.ts, which the search proxy
// bundles, so the proxy's code (and role) holds no PutParameter.

/**
 * Move the stage in the switch parameter (cutover, rollback), keeping its breaker positions. Returns the
 * stage before and after. The proxies read it within their refresh interval.
 */
export async function setSsmStage(client: SSMClient, parameterName: string, stage: ProxyStage): Promise<{ from: ProxyStage | null; to: ProxyStage }> {
  const current = await readSsmSwitch(client, parameterName);
  await client.send(new PutParameterCommand({ Name: parameterName, Value: withStage(current, stage), Type: 'String', Overwrite: true }));
  return { from: current === null ? null : stageIn(current), to: stage };
}

/** The switch parameter's value, or null when it does not exist. */
export async function readSsmSwitch(client: SSMClient, parameterName: string): Promise<SwitchValue | null> {
  try {
    const r = await client.send(new GetParameterCommand({ Name: parameterName, WithDecryption: true }));
    return r.Parameter?.Value === undefined ? null : parseSwitchValue(r.Parameter.Value, `parameter ${parameterName}`);
  } catch (e) {
    if (e instanceof ParameterNotFound) return null;
    throw e;
  }
}
