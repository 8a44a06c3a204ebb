/**
 * The operator API's dependencies, taken from the app's runtime (config,
 * adapters, clock). Built per request from getRuntime(), which builds the
 * SDK clients once and reuses them.
 */
import { readAccountFacts } from '../activities/inspect-account.js';
import type { RotationTarget } from '../config.js';
import { getRuntime, type Runtime } from '../runtime.js';
import type { ApiDependencies } from './operations.js';

export function apiDependenciesOf(runtime: Runtime, targets?: RotationTarget[]): ApiDependencies {
  const deps: ApiDependencies = {
    config: {
      ...runtime.config,
      get targets(): RotationTarget[] {
        if (!targets) throw new Error('the target list was used before it was read from its source (withCurrentTargets)');
        return targets;
      },
    },
    listSecretProperties: () => runtime.adapters.keyVault.listSecretProperties(),
    inspectAccount: (input) => readAccountFacts(runtime, input),
    now: () => runtime.now(),
  };
  // One read of the list per request (a blob unchanged since the last read costs one conditional GET).
  if (!targets) deps.withCurrentTargets = async () => apiDependenciesOf(runtime, await runtime.targets.list());
  return deps;
}

export function runtimeApiDependencies(): ApiDependencies {
  return apiDependenciesOf(getRuntime());
}
