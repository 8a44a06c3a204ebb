/**
 * The compiled templates (ARM JSON, built by the Bicep CLI: scripts/bicep-cli.ts)
 * and just enough of ARM's template expression language to evaluate what they
 * say for given parameter values. Function semantics follow Microsoft Learn,
 * "ARM template functions" (string(), union(), coalesce(), tryGet(), lambda(), ...).
 * A function not listed here throws: a test can never pass on a guess.
 *
 * Tests that need the templates call `compiledInfra()`; test/setup/bicep.ts
 * (vitest globalSetup) decides once per run whether a Bicep CLI exists, says so
 * in one line when it does not, and fails the run then when CI=true.
 */
import { createHash } from 'node:crypto';
import { inject } from 'vitest';
import { buildTemplates, compiledTemplate, type BuildResult } from '../../scripts/bicep-cli.js';

export interface BicepAvailability {
  path: string | null;
  source: 'PATH' | 'nuget' | null;
}

declare module 'vitest' {
  export interface ProvidedContext {
    bicep: BicepAvailability;
  }
}

/** Whether the Bicep tests run (the CLI was found by the global setup). */
export const bicepAvailable: boolean = inject('bicep').path !== null;

let build: BuildResult | undefined;

export function compiledInfra(): BuildResult {
  const found = inject('bicep');
  if (!found.path || !found.source) throw new Error('no Bicep CLI: guard the test with describe.runIf(bicepAvailable)');
  build ??= buildTemplates({ path: found.path, source: found.source });
  if (build.exitCode !== 0) throw new Error(`the templates do not compile: ${build.diagnostics.map((item) => `${item.file}:${item.line} ${item.code} ${item.message}`).join('; ')}`);
  return build;
}

export interface ArmTemplate {
  parameters?: Record<string, { type: string; defaultValue?: unknown; allowedValues?: unknown[]; metadata?: { description?: string } }>;
  variables?: Record<string, unknown>;
  resources: ArmResource[] | Record<string, ArmResource>;
  outputs?: Record<string, { type: string; value: unknown }>;
}

export interface ArmResource {
  type: string;
  apiVersion?: string;
  name: unknown;
  scope?: unknown;
  condition?: unknown;
  existing?: boolean;
  copy?: { name: string; count: unknown };
  properties?: Record<string, unknown> & { template?: ArmTemplate; parameters?: Record<string, { value: unknown }> };
  [key: string]: unknown;
}

/** The compiled template of infra/<path>.bicep. */
export function template(path: string): ArmTemplate {
  return compiledTemplate(compiledInfra(), path) as unknown as ArmTemplate;
}

/** Resources of a template with their symbolic names (languageVersion 2.0) or their position. */
export function resourcesOf(armTemplate: ArmTemplate): Array<ArmResource & { symbol: string }> {
  const { resources } = armTemplate;
  return Array.isArray(resources) ? resources.map((resource, index) => ({ ...resource, symbol: String(index) })) : Object.entries(resources).map(([symbol, resource]) => ({ ...resource, symbol }));
}

/** A module deployment of main.bicep by its symbolic name. */
export function moduleOf(armTemplate: ArmTemplate, symbol: string): ArmResource & { properties: { template: ArmTemplate; parameters: Record<string, { value: unknown }> } } {
  const found = resourcesOf(armTemplate).find((resource) => resource.symbol === symbol && resource.type === 'Microsoft.Resources/deployments');
  if (!found?.properties?.template) throw new Error(`no module ${symbol}`);
  return found as ReturnType<typeof moduleOf>;
}

/**
 * What a module is given, evaluated: each entry is `{ value }`, or (for a value that
 * depends on a condition) an expression that yields one.
 */
export function moduleParameters(module: ReturnType<typeof moduleOf>, scope: Scope): Record<string, unknown> {
  return Object.fromEntries(Object.entries(module.properties.parameters).map(([name, entry]) => [name, (evaluate(entry, scope) as { value: unknown }).value]));
}

/** Values a deployment would see for the functions that depend on where it runs. */
export interface Deployment {
  subscriptionId: string;
  resourceGroup: string;
  tenantId: string;
  /** What reference('symbol') returns, by symbol (module outputs as `{ outputs: { name: { value } } }`). */
  references: Record<string, unknown>;
}

export const TEST_DEPLOYMENT: Deployment = {
  subscriptionId: '00000000-0000-0000-0000-0000000000aa',
  resourceGroup: 'rg-test',
  tenantId: '00000000-0000-0000-0000-0000000000bb',
  references: {},
};

export interface Scope {
  template: ArmTemplate;
  /** Parameter values given; missing ones take the template's defaultValue. */
  parameters: Record<string, unknown>;
  deployment?: Deployment;
  /** copyIndex() of a resource or module loop. */
  copyIndex?: number;
}

/** Placeholder values for a template's required parameters, so its expressions can be evaluated. */
export function placeholderParameters(armTemplate: ArmTemplate, given: Record<string, unknown> = {}): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const [name, declared] of Object.entries(armTemplate.parameters ?? {})) {
    if ('defaultValue' in declared) continue;
    values[name] = { string: `param-${name}`, int: 1, bool: false, array: [], object: {} }[declared.type] ?? `param-${name}`;
  }
  return { ...values, ...given };
}

/** The resource type a resource ID names (`.../providers/A.B/x/n1/y/n2` -> `A.B/x/y`); 'subscription' or 'resourceGroup' above that. */
export function resourceTypeOf(resourceId: string): string {
  const at = resourceId.lastIndexOf('/providers/');
  if (at < 0) return /\/resourceGroups\/[^/]+$/i.test(resourceId) ? 'resourceGroup' : 'subscription';
  const [namespace, ...rest] = resourceId.slice(at + '/providers/'.length).split('/');
  return [namespace, ...rest.filter((_part, index) => index % 2 === 0)].join('/');
}

/** Evaluates a template value: strings in `[...]` are expressions, objects and arrays recursively. */
export function evaluate(value: unknown, scope: Scope): unknown {
  return new Evaluator(scope).value(value);
}

type Node =
  | { kind: 'literal'; value: unknown }
  | { kind: 'call'; name: string; args: Node[] }
  | { kind: 'member'; target: Node; name: string }
  | { kind: 'index'; target: Node; index: Node };

type Lambda = { lambda: true; names: string[]; body: Node; closure: Map<string, unknown> };

class Evaluator {
  private readonly variableCache = new Map<string, unknown>();
  private readonly deployment: Deployment;

  constructor(private readonly scope: Scope) {
    this.deployment = scope.deployment ?? TEST_DEPLOYMENT;
  }

  value(value: unknown, locals = new Map<string, unknown>()): unknown {
    if (typeof value === 'string') {
      if (value.startsWith('[[')) return value.slice(1);
      if (value.startsWith('[') && value.endsWith(']')) return this.node(parse(value.slice(1, -1)), locals);
      return value;
    }
    if (Array.isArray(value)) return value.map((item) => this.value(item, locals));
    if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, this.value(item, locals)]));
    return value;
  }

  private parameter(name: string): unknown {
    if (name in this.scope.parameters) return this.scope.parameters[name];
    const declared = this.scope.template.parameters?.[name];
    if (!declared) throw new Error(`parameters('${name}'): the template declares no such parameter`);
    if (!('defaultValue' in declared)) throw new Error(`parameters('${name}') is required and was not given`);
    return this.value(declared.defaultValue);
  }

  private variable(name: string): unknown {
    if (!this.variableCache.has(name)) {
      const variables = this.scope.template.variables ?? {};
      if (!(name in variables)) throw new Error(`variables('${name}'): the template declares no such variable`);
      this.variableCache.set(name, this.value(variables[name]));
    }
    return this.variableCache.get(name);
  }

  private node(node: Node, locals: Map<string, unknown>): unknown {
    switch (node.kind) {
      case 'literal':
        return node.value;
      case 'member': {
        const target = this.node(node.target, locals) as Record<string, unknown> | null;
        if (target === null || typeof target !== 'object' || !(node.name in target)) throw new Error(`.${node.name}: no such property on ${JSON.stringify(target)?.slice(0, 200)}`);
        return target[node.name];
      }
      case 'index': {
        const target = this.node(node.target, locals) as Record<string, unknown> | unknown[];
        const index = this.node(node.index, locals);
        const item = (target as Record<string, unknown>)[String(index)];
        if (item === undefined) throw new Error(`[${String(index)}]: out of range`);
        return item;
      }
      case 'call':
        return this.call(node, locals);
    }
  }

  private call(node: { name: string; args: Node[] }, locals: Map<string, unknown>): unknown {
    const name = node.name;
    // Lazy forms first: if() evaluates one branch only, lambda() its body per call.
    if (name === 'if') return this.node(this.node(node.args[0]!, locals) ? node.args[1]! : node.args[2]!, locals);
    if (name === 'lambda') {
      const names = node.args.slice(0, -1).map((arg) => String(this.node(arg, locals)));
      return { lambda: true, names, body: node.args.at(-1)!, closure: locals } satisfies Lambda;
    }
    const args = node.args.map((arg) => this.node(arg, locals));
    const apply = (fn: unknown, ...values: unknown[]): unknown => {
      const lambda = fn as Lambda;
      const inner = new Map(lambda.closure);
      lambda.names.forEach((lambdaName, index) => inner.set(lambdaName, values[index]));
      return this.node(lambda.body, inner);
    };
    const sub = this.deployment.subscriptionId;
    switch (name) {
      case 'parameters':
        return this.parameter(String(args[0]));
      case 'variables':
        return this.variable(String(args[0]));
      case 'lambdaVariables':
        if (!locals.has(String(args[0]))) throw new Error(`lambdaVariables('${String(args[0])}') outside its lambda`);
        return locals.get(String(args[0]));
      case 'reference': {
        const symbol = String(args[0]);
        if (!(symbol in this.deployment.references)) throw new Error(`reference('${symbol}'): the test gave no value for it`);
        return this.deployment.references[symbol];
      }
      case 'map':
        return (args[0] as unknown[]).map((item, index) => apply(args[1], item, index));
      case 'filter':
        return (args[0] as unknown[]).filter((item, index) => Boolean(apply(args[1], item, index)));
      case 'concat':
        return args.every(Array.isArray) ? args.flat(1) : args.map((arg) => (typeof arg === 'string' ? arg : armString(arg))).join('');
      case 'createArray':
        return args;
      case 'createObject': {
        const entries: Array<[string, unknown]> = [];
        for (let index = 0; index < args.length; index += 2) entries.push([String(args[index]), args[index + 1]]);
        return Object.fromEntries(entries);
      }
      case 'string':
        return armString(args[0]);
      case 'format':
        return String(args[0]).replace(/\{(\d+)\}/g, (_match, index: string) => armString(args[Number(index) + 1]));
      case 'equals':
        return JSON.stringify(args[0]) === JSON.stringify(args[1]);
      case 'not':
        return !args[0];
      case 'and':
        return args.every(Boolean);
      case 'or':
        return args.some(Boolean);
      case 'empty':
        return args[0] === null || args[0] === '' || (Array.isArray(args[0]) && args[0].length === 0) || (typeof args[0] === 'object' && args[0] !== null && Object.keys(args[0]).length === 0);
      case 'coalesce':
        return args.find((arg) => arg !== null && arg !== undefined) ?? null;
      case 'tryGet': {
        const target = args[0] as Record<string, unknown> | null;
        return target && typeof target === 'object' && String(args[1]) in target ? target[String(args[1])] : null;
      }
      case 'contains':
        return Array.isArray(args[0]) ? args[0].some((item) => JSON.stringify(item) === JSON.stringify(args[1])) : typeof args[0] === 'string' ? args[0].includes(String(args[1])) : String(args[1]) in (args[0] as object);
      case 'toLower':
        return String(args[0]).toLowerCase();
      case 'split':
        return String(args[0]).split(String(args[1]));
      case 'trim':
        return String(args[0]).trim();
      case 'join':
        return (args[0] as unknown[]).map(armString).join(String(args[1]));
      case 'last':
        return (args[0] as unknown[]).at(-1);
      case 'length':
        return (args[0] as unknown[]).length;
      case 'union':
        return args.every(Array.isArray) ? [...new Map(args.flat(1).map((item) => [JSON.stringify(item), item])).values()] : Object.assign({}, ...(args as object[]));
      case 'null':
        return null;
      case 'true':
        return true;
      case 'false':
        return false;
      case 'int':
        return Number(args[0]);
      case 'copyIndex':
        if (this.scope.copyIndex === undefined) throw new Error('copyIndex() outside a loop: give Scope.copyIndex');
        return this.scope.copyIndex + (args.length ? Number(args.at(-1)) : 0);
      case 'deployment':
        return { name: 'test', location: 'westeurope' };
      case 'subscription':
        return { id: `/subscriptions/${sub}`, subscriptionId: sub, tenantId: this.deployment.tenantId };
      case 'tenant':
        return { tenantId: this.deployment.tenantId };
      case 'environment':
        return {
          name: 'AzureCloud',
          resourceManager: 'https://management.azure.com/',
          authentication: { loginEndpoint: 'https://login.microsoftonline.com/' },
          suffixes: { keyvaultDns: '.vault.azure.net', storage: 'core.windows.net' },
        };
      case 'resourceId': {
        // resourceId([subscriptionId], [resourceGroupName], resourceType, name...): the type is the first argument with a '/'.
        const parts = args.map(String);
        const typeAt = parts.findIndex((part) => part.includes('/'));
        const [subscription, group] = typeAt === 2 ? parts : typeAt === 1 ? [sub, parts[0]] : [sub, this.deployment.resourceGroup];
        return `/subscriptions/${subscription}/resourceGroups/${group}/providers/${resourcePath(parts.slice(typeAt))}`;
      }
      case 'cidrSubnet': {
        // cidrSubnet(network, newCIDR, subnetIndex), IPv4: the subnetIndex-th block of size newCIDR.
        const [address, bits] = String(args[0]).split('/');
        const base = address!.split('.').reduce((value, octet) => value * 256 + Number(octet), 0);
        const start = base + Number(args[2]) * 2 ** (32 - Number(args[1]));
        if (Number(args[1]) < Number(bits)) throw new Error(`cidrSubnet: /${String(args[1])} is larger than ${String(args[0])}`);
        return `${[24, 16, 8, 0].map((shift) => Math.floor(start / 2 ** shift) % 256).join('.')}/${String(args[1])}`;
      }
      case 'subscriptionResourceId':
        return `/subscriptions/${sub}/providers/${resourcePath(args.map(String))}`;
      case 'extensionResourceId':
        return `${String(args[0])}/providers/${resourcePath(args.slice(1).map(String))}`;
      case 'guid': {
        const hex = createHash('sha256').update(args.map(String).join('|')).digest('hex');
        return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
      }
      case 'uniqueString':
        return createHash('sha256').update(args.map(String).join('|')).digest('hex').slice(0, 13);
      default:
        throw new Error(`the ARM function ${name}() is not known to test/helpers/arm.ts; teach it from Microsoft Learn`);
    }
  }
}

function resourcePath(parts: string[]): string {
  const [type, ...names] = parts;
  const types = type!.split('/');
  // Microsoft.Web/sites/config + [site, name] -> Microsoft.Web/sites/site/config/name
  return [`${types[0]}/${types[1]}/${names[0]}`, ...types.slice(2).map((child, index) => `${child}/${names[index + 1]}`)].join('/');
}

/** ARM's string(): objects and arrays as compact JSON, booleans as True/False. */
export function armString(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return String(value);
  return JSON.stringify(value);
}

function parse(source: string): Node {
  const tokens = tokenize(source);
  let at = 0;
  const peek = (): string | undefined => tokens[at];
  const expect = (token: string): void => {
    if (tokens[at] !== token) throw new Error(`expected "${token}" at token ${at} of ${source}`);
    at += 1;
  };
  const expression = (): Node => {
    let node = primary();
    for (;;) {
      if (peek() === '.') {
        at += 1;
        node = { kind: 'member', target: node, name: tokens[at++]! };
      } else if (peek() === '[') {
        at += 1;
        const index = expression();
        expect(']');
        node = { kind: 'index', target: node, index };
      } else return node;
    }
  };
  const primary = (): Node => {
    const token = tokens[at++];
    if (token === undefined) throw new Error(`unexpected end of ${source}`);
    if (token.startsWith("'")) return { kind: 'literal', value: token.slice(1, -1).replaceAll("''", "'") };
    if (/^-?\d/.test(token)) return { kind: 'literal', value: Number(token) };
    if (/^[A-Za-z_]/.test(token)) {
      expect('(');
      const args: Node[] = [];
      while (peek() !== ')') {
        args.push(expression());
        if (peek() === ',') at += 1;
      }
      expect(')');
      return { kind: 'call', name: token, args };
    }
    throw new Error(`unexpected "${token}" in ${source}`);
  };
  const node = expression();
  if (at !== tokens.length) throw new Error(`trailing tokens in ${source}`);
  return node;
}

function tokenize(source: string): string[] {
  const tokens: string[] = [];
  let at = 0;
  while (at < source.length) {
    const character = source[at]!;
    if (/\s/.test(character)) {
      at += 1;
    } else if (character === "'") {
      let end = at + 1;
      for (;;) {
        if (end >= source.length) throw new Error(`unclosed string in ${source}`);
        if (source[end] === "'" && source[end + 1] === "'") end += 2;
        else if (source[end] === "'") break;
        else end += 1;
      }
      tokens.push(source.slice(at, end + 1));
      at = end + 1;
    } else if ('(),.[]'.includes(character)) {
      tokens.push(character);
      at += 1;
    } else {
      const word = /^(-?\d+(?:\.\d+)?|[A-Za-z_][\w]*)/.exec(source.slice(at))?.[0];
      if (!word) throw new Error(`cannot read "${source.slice(at, at + 20)}" in ${source}`);
      tokens.push(word);
      at += word.length;
    }
  }
  return tokens;
}
