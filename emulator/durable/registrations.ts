/**
 * The wiring view of what the app registered: one entry per function, with the
 * trigger found by `type` (binding names carry a random suffix) and `%SETTING%`
 * binding expressions resolved the way the host resolves them, from app settings.
 */
import { capturedFunctions, type CapturedFunction, type CoreBindingInfo, type CoreFunctionCallback } from './functions-host.js';

export interface BindingView extends CoreBindingInfo {
  /** The binding name (`@azure/functions` adds a hash suffix unless the app named it). */
  name: string;
}

export interface FunctionRegistration {
  name: string;
  /** e.g. `httpTrigger`, `timerTrigger`, `orchestrationTrigger`, `activityTrigger`, `entityTrigger`. */
  triggerType: string;
  trigger: BindingView;
  /** Every binding, trigger first, in registration order. */
  bindings: BindingView[];
  /** Timer: the NCRONTAB schedule with `%SETTING%` resolved; undefined when a setting is missing. */
  schedule?: string;
  /** Timer: the schedule exactly as registered (may be `%SETTING%`). */
  scheduleExpression?: string;
  /** App settings a binding expression refers to that are not set. */
  unresolvedSettings: string[];
  runOnStartup?: boolean;
  useMonitor?: boolean;
  /** HTTP: the route as registered (undefined: the host uses the function name). */
  route?: string;
  /** HTTP: the route the host serves, below the route prefix. */
  effectiveRoute?: string;
  methods?: string[];
  authLevel?: string;
  /** True when a durable client input binding is present (df.app.client.* or df.input.durableClient()). */
  usesDurableClient: boolean;
  retryOptions?: unknown;
  handler: CoreFunctionCallback;
}

const settingPattern = /%([^%]+)%/g;

/** Resolves `%NAME%` from `env` like the host does for binding expressions. */
export function resolveBindingExpression(
  value: string,
  env: Record<string, string | undefined> = process.env,
): { value: string | undefined; missing: string[] } {
  const missing: string[] = [];
  const resolved = value.replace(settingPattern, (_match, name: string) => {
    const setting = env[name];
    if (setting === undefined) {
      missing.push(name);
      return '';
    }
    return setting;
  });
  return { value: missing.length > 0 ? undefined : resolved, missing };
}

export function isDurableClientBinding(binding: CoreBindingInfo): boolean {
  return binding.type === 'durableClient' || binding.type === 'orchestrationClient';
}

export function isTriggerType(type: string | undefined): boolean {
  return !!type && /trigger$/i.test(type);
}

export function describeFunction(captured: CapturedFunction, env: Record<string, string | undefined> = process.env): FunctionRegistration {
  const bindings: BindingView[] = Object.entries(captured.metadata.bindings).map(([name, binding]) => ({ ...binding, name }));
  const trigger = bindings.find((binding) => isTriggerType(binding.type));
  if (!trigger) throw new TypeError(`function "${captured.metadata.name}" has no trigger binding`);
  const registration: FunctionRegistration = {
    name: captured.metadata.name,
    triggerType: trigger.type,
    trigger,
    bindings: [trigger, ...bindings.filter((binding) => binding !== trigger)],
    unresolvedSettings: [],
    usesDurableClient: bindings.some(isDurableClientBinding),
    handler: captured.handler,
  };
  if (captured.metadata.retryOptions !== undefined) registration.retryOptions = captured.metadata.retryOptions;

  if (trigger.type.toLowerCase() === 'timertrigger') {
    const expression = typeof trigger.schedule === 'string' ? trigger.schedule : undefined;
    if (expression !== undefined) {
      const { value, missing } = resolveBindingExpression(expression, env);
      registration.scheduleExpression = expression;
      if (value !== undefined) registration.schedule = value;
      registration.unresolvedSettings.push(...missing);
    }
    if (typeof trigger.runOnStartup === 'boolean') registration.runOnStartup = trigger.runOnStartup;
    if (typeof trigger.useMonitor === 'boolean') registration.useMonitor = trigger.useMonitor;
  }
  if (trigger.type.toLowerCase() === 'httptrigger') {
    const route = typeof trigger.route === 'string' ? trigger.route : undefined;
    if (route !== undefined) registration.route = route;
    registration.effectiveRoute = (route ?? registration.name).replace(/^\/+/, '');
    if (Array.isArray(trigger.methods)) registration.methods = trigger.methods.map((method) => String(method).toUpperCase());
    if (typeof trigger.authLevel === 'string') registration.authLevel = trigger.authLevel;
  }
  return registration;
}

export function describeRegisteredFunctions(env: Record<string, string | undefined> = process.env): FunctionRegistration[] {
  return capturedFunctions().map((captured) => describeFunction(captured, env));
}
