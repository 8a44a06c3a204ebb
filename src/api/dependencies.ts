/**
 * The operator API's dependencies, taken from the app's runtime (config,
 * adapters, clock). Built per request from getRuntime(), which builds the
 * SDK clients once and reuses them.
 */
import { readAccountFacts } from '../activities/inspect-account.js';
import { getRuntime, type Runtime } from '../runtime.js';
import type { ApiDependencies } from './operations.js';

export function apiDependenciesOf(runtime: Runtime): ApiDependencies {
  return {
    config: runtime.config,
    listSecretProperties: () => runtime.adapters.keyVault.listSecretProperties(),
    inspectAccount: (input) => readAccountFacts(runtime, input),
    now: () => runtime.now(),
  };
}

export function runtimeApiDependencies(): ApiDependencies {
  return apiDependenciesOf(getRuntime());
}
