/**
 * Just enough Bicep reading for the infra checks: the templates are ours and
 * consistently formatted (two-space indents, one declaration per line, a blank
 * line between parameters), so line-based parsing is exact for them. A template
 * that breaks the format fails these helpers loudly rather than passing quietly.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const INFRA_DIR = join(REPO_ROOT, 'infra');

export interface BicepFile {
  /** Path relative to the repository root, with forward slashes. */
  path: string;
  text: string;
}

export function readRepoFile(path: string): string {
  return readFileSync(join(REPO_ROOT, path), 'utf8');
}

/** One `## heading` section of README.md, up to the next `## `. */
export function readmeSection(heading: string): string {
  const readme = readRepoFile('README.md');
  const start = readme.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`README.md has no section "## ${heading}"`);
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end < 0 ? undefined : end);
}

export function bicepFiles(): BicepFile[] {
  const found: BicepFile[] = [];
  const walk = (directory: string): void => {
    for (const entry of readdirSync(directory, { withFileTypes: true })) {
      const full = join(directory, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.bicep')) found.push({ path: relative(REPO_ROOT, full).split('\\').join('/'), text: readFileSync(full, 'utf8') });
    }
  };
  walk(INFRA_DIR);
  return found.sort((a, b) => a.path.localeCompare(b.path));
}

export function bicepFile(path: string): BicepFile {
  return { path, text: readRepoFile(path) };
}

/** Text without `//` comments (none of our string literals contains `//` except URLs in comments). */
export function withoutComments(text: string): string {
  return text
    .split('\n')
    .map((line) => (line.trimStart().startsWith('//') ? '' : line))
    .join('\n');
}

export interface ParamDeclaration {
  name: string;
  type: string;
  /** The default's source text, or undefined when the parameter is required. */
  defaultText: string | undefined;
  /** Decorator lines and the declaration, as written. */
  block: string;
}

/** Top-level parameters, each with the decorators above it (up to the previous blank line). */
export function params(file: BicepFile): ParamDeclaration[] {
  const declarations: ParamDeclaration[] = [];
  for (const block of withoutComments(file.text).split(/\n\s*\n/)) {
    const lines = block.split('\n').filter((line) => line.trim() !== '');
    const paramLines = lines.filter((line) => line.startsWith('param '));
    if (paramLines.length === 0) continue;
    if (paramLines.length > 1) {
      throw new Error(`${file.path}: parameters ${paramLines.join(' / ')} share one block; separate them with a blank line`);
    }
    const match = /^param (\w+) ([\w[\]]+)(?: = (.*))?$/.exec(paramLines[0]!);
    if (!match) throw new Error(`${file.path}: cannot read "${paramLines[0]}"`);
    declarations.push({ name: match[1]!, type: match[2]!, defaultText: match[3], block: lines.join('\n') });
  }
  return declarations;
}

export interface ResourceDeclaration {
  symbol: string;
  type: string;
  apiVersion: string;
  existing: boolean;
  /** Lines of the body, from the opening line to the closing brace. */
  body: string[];
  indent: number;
}

/** Every `resource` declaration, nested ones included. */
export function resources(file: BicepFile): ResourceDeclaration[] {
  const lines = withoutComments(file.text).split('\n');
  const found: ResourceDeclaration[] = [];
  lines.forEach((line, index) => {
    const match = /^( *)resource (\w+) '([^'@]+)@([^']+)'( existing)? = (?:if \(.*\) )?\{$/.exec(line);
    if (!match) return;
    const indent = match[1]!.length;
    const end = lines.findIndex((candidate, at) => at > index && candidate === `${' '.repeat(indent)}}`);
    if (end < 0) throw new Error(`${file.path}: no closing brace for resource ${match[2]}`);
    found.push({
      symbol: match[2]!,
      type: match[3]!,
      apiVersion: match[4]!,
      existing: match[5] !== undefined,
      body: lines.slice(index, end + 1),
      indent,
    });
  });
  return found;
}

/** The value of a property written directly in a resource body (not nested deeper). */
export function property(resource: ResourceDeclaration, name: string): string | undefined {
  const prefix = `${' '.repeat(resource.indent + 2)}${name}: `;
  const line = resource.body.find((candidate) => candidate.startsWith(prefix));
  return line?.slice(prefix.length);
}

/** Keys and value expressions of a top-level `var NAME = { ... }` object written one entry a line. */
export function objectVariable(file: BicepFile, variable: string): Map<string, string> {
  const lines = withoutComments(file.text).split('\n');
  const start = lines.indexOf(`var ${variable} = {`);
  if (start < 0) throw new Error(`${file.path}: no "var ${variable} = {" line`);
  const entries = new Map<string, string>();
  for (let index = start + 1; index < lines.length; index += 1) {
    const line = lines[index]!;
    if (line === '}') return entries;
    if (line.trim() === '') continue;
    const match = /^ {2}([A-Za-z_][\w]*): (.+)$/.exec(line);
    if (!match) throw new Error(`${file.path}: "${line}" in var ${variable} is not one "KEY: value" entry`);
    entries.set(match[1]!, match[2]!);
  }
  throw new Error(`${file.path}: var ${variable} is not closed`);
}

export interface OutputDeclaration {
  name: string;
  type: string;
  value: string;
}

export function outputs(file: BicepFile): OutputDeclaration[] {
  return withoutComments(file.text)
    .split('\n')
    .flatMap((line) => {
      const match = /^output (\w+) (\w+) = (.+)$/.exec(line);
      return match ? [{ name: match[1]!, type: match[2]!, value: match[3]! }] : [];
    });
}

/** `var name = 'literal'` declarations. */
export function stringVariables(file: BicepFile): Map<string, string> {
  const found = new Map<string, string>();
  for (const line of withoutComments(file.text).split('\n')) {
    const match = /^var (\w+) = '([^']*)'$/.exec(line);
    if (match) found.set(match[1]!, match[2]!);
  }
  return found;
}

/** The actions of the rotator's two custom roles as Azure would create them. */
export interface DeployedRotatorRoles {
  /** The role assigned on each target account. */
  accountActions: string[];
  /** The role assigned on each subscription holding a target account. */
  operationStatusActions: string[];
}

/**
 * Reads infra/app/rotator-role.bicep and the JSON it loads, and evaluates each
 * role's `actions:` expression for the given parameter value. Only the forms the
 * template uses are understood (`roleActions.NAME`, `concat(a, b)`,
 * `publishConnectionString ? a : b`, `[]`): anything else fails loudly, so the
 * integration test that compares these with what the adapters are served can
 * never compare against a guess.
 */
export function deployedRotatorRoles(options: { publishConnectionString: boolean }): DeployedRotatorRoles {
  const template = bicepFile('infra/app/rotator-role.bicep');
  const text = withoutComments(template.text);
  const load = /^var roleActions = loadJsonContent\('([\w.-]+)'\)$/m.exec(text);
  if (!load) throw new Error(`${template.path}: no "var roleActions = loadJsonContent('...')" line`);
  const lists = JSON.parse(readRepoFile(`infra/app/${load[1]}`)) as Record<string, unknown>;
  const actionsOf = (symbol: string): string[] => {
    const role = resources(template).find((resource) => resource.symbol === symbol && resource.type === 'Microsoft.Authorization/roleDefinitions');
    if (!role) throw new Error(`${template.path}: no role definition ${symbol}`);
    const lines = role.body.filter((line) => /^\s+actions: /.test(line));
    if (lines.length !== 1) throw new Error(`${template.path}: ${symbol} must have exactly one "actions:" line`);
    return evaluateActions(lines[0]!.trim().slice('actions: '.length), { lists, publishConnectionString: options.publishConnectionString });
  };
  return { accountActions: actionsOf('rotatorRole'), operationStatusActions: actionsOf('operationStatusRole') };
}

function evaluateActions(expression: string, scope: { lists: Record<string, unknown>; publishConnectionString: boolean }): string[] {
  const text = expression.trim();
  if (text === '[]') return [];
  const list = /^roleActions\.(\w+)$/.exec(text);
  if (list) {
    const value = scope.lists[list[1]!];
    if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) throw new Error(`roleActions.${list[1]} is not a list of actions`);
    return value as string[];
  }
  const conditional = /^publishConnectionString \? (.+) : (.+)$/.exec(text);
  if (conditional) return evaluateActions(scope.publishConnectionString ? conditional[1]! : conditional[2]!, scope);
  const concat = /^concat\((.+)\)$/.exec(text);
  if (concat) return splitArguments(concat[1]!).flatMap((argument) => evaluateActions(argument, scope));
  throw new Error(`cannot evaluate the role actions expression "${text}"`);
}

/** Top-level comma-separated arguments (commas inside brackets or parentheses stay). */
function splitArguments(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let index = 0; index < text.length; index += 1) {
    const character = text[index];
    if (character === '(' || character === '[') depth += 1;
    else if (character === ')' || character === ']') depth -= 1;
    else if (character === ',' && depth === 0) {
      parts.push(text.slice(start, index));
      start = index + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}
