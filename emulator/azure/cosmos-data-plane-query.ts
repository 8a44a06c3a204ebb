/**
 * A small subset of the Cosmos DB NoSQL query language, enough for what apps
 * and `@azure/cosmos` (`readAll`, `query`) send in tests and demos:
 *
 *   SELECT [TOP n] * | VALUE expr | expr [AS name], ...
 *   FROM alias
 *   [WHERE expr] [ORDER BY expr [ASC|DESC], ...] [OFFSET n LIMIT m]
 *
 * Expressions: property paths (`c.a.b`, `c["a"]`, `c.list[0]`), string, number,
 * boolean and null literals, `@parameters`, `= != <> < <= > >=`, `AND OR NOT`,
 * parentheses, and the functions IS_DEFINED, IS_NULL, STARTSWITH, CONTAINS,
 * ARRAY_CONTAINS, LOWER, UPPER and COUNT (as `SELECT VALUE COUNT(1)`).
 * Anything else is a 400 that names what is not supported.
 */

export class QuerySyntaxError extends Error {
  override readonly name = 'QuerySyntaxError';
}

export interface QueryParameter {
  name: string;
  value: unknown;
}

type Json = unknown;

type Expr =
  | { kind: 'literal'; value: Json }
  | { kind: 'parameter'; name: string }
  | { kind: 'path'; root: string; steps: Expr[] }
  | { kind: 'unary'; op: 'NOT' | '-'; operand: Expr }
  | { kind: 'binary'; op: string; left: Expr; right: Expr }
  | { kind: 'call'; name: string; args: Expr[] };

interface Projection {
  expr: Expr;
  alias?: string;
}

interface ParsedQuery {
  top?: number;
  selectStar: boolean;
  selectValue?: Expr;
  projections: Projection[];
  alias: string;
  where?: Expr;
  orderBy: { expr: Expr; descending: boolean }[];
  offset?: number;
  limit?: number;
}

/** Runs `queryText` over `documents`; returns the result rows in order. */
export function runQuery(queryText: string, parameters: QueryParameter[], documents: Record<string, unknown>[]): unknown[] {
  const query = new Parser(tokenize(queryText)).parseQuery();
  const parameterValues = new Map<string, unknown>();
  for (const parameter of parameters) parameterValues.set(parameter.name.toLowerCase(), parameter.value);
  const evaluate = (expr: Expr, document: Record<string, unknown>): Json => evaluateExpr(expr, { alias: query.alias, document, parameterValues });

  let rows = documents.filter((document) => (query.where ? evaluate(query.where, document) === true : true));

  if (query.selectValue && isCount(query.selectValue)) {
    return [rows.length];
  }

  if (query.orderBy.length > 0) {
    rows = [...rows].sort((a, b) => {
      for (const { expr, descending } of query.orderBy) {
        const order = compareForOrderBy(evaluate(expr, a), evaluate(expr, b));
        if (order !== 0) return descending ? -order : order;
      }
      return 0;
    });
  }

  let results: unknown[] = rows.map((document) => {
    if (query.selectStar) return document;
    if (query.selectValue) return evaluate(query.selectValue, document);
    const row: Record<string, unknown> = {};
    query.projections.forEach((projection, index) => {
      const value = evaluate(projection.expr, document);
      if (value !== undefined) row[projection.alias ?? defaultProjectionName(projection.expr, index)] = value;
    });
    return row;
  });
  // SELECT VALUE drops undefined results, as Cosmos DB does.
  if (query.selectValue) results = results.filter((value) => value !== undefined);

  const offset = query.offset ?? 0;
  const limit = query.limit ?? query.top;
  return results.slice(offset, limit === undefined ? undefined : offset + limit);
}

function isCount(expr: Expr): boolean {
  return expr.kind === 'call' && expr.name === 'COUNT';
}

function defaultProjectionName(expr: Expr, index: number): string {
  if (expr.kind === 'path' && expr.steps.length > 0) {
    const last = expr.steps[expr.steps.length - 1];
    if (last.kind === 'literal' && typeof last.value === 'string') return last.value;
  }
  return `$${index + 1}`;
}

// ---------------------------------------------------------------- tokens

type Token =
  | { type: 'word'; text: string }
  | { type: 'string'; value: string }
  | { type: 'number'; value: number }
  | { type: 'parameter'; name: string }
  | { type: 'symbol'; text: string };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    if (/\s/.test(ch)) {
      i += 1;
    } else if (ch === '-' && text[i + 1] === '-') {
      while (i < text.length && text[i] !== '\n') i += 1;
    } else if (/[A-Za-z_]/.test(ch)) {
      const start = i;
      while (i < text.length && /[A-Za-z0-9_]/.test(text[i])) i += 1;
      tokens.push({ type: 'word', text: text.slice(start, i) });
    } else if (/[0-9]/.test(ch)) {
      const match = /^[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(i));
      const literal = match ? match[0] : ch;
      tokens.push({ type: 'number', value: Number(literal) });
      i += literal.length;
    } else if (ch === '@') {
      const start = i;
      i += 1;
      while (i < text.length && /[A-Za-z0-9_]/.test(text[i])) i += 1;
      if (i === start + 1) throw new QuerySyntaxError(`Syntax error, incorrect syntax near '@' at position ${start}.`);
      tokens.push({ type: 'parameter', name: text.slice(start, i) });
    } else if (ch === "'" || ch === '"') {
      const quote = ch;
      let value = '';
      i += 1;
      while (i < text.length && text[i] !== quote) {
        if (text[i] === '\\' && i + 1 < text.length) {
          const escaped = text[i + 1];
          value += escaped === 'n' ? '\n' : escaped === 't' ? '\t' : escaped;
          i += 2;
        } else {
          value += text[i];
          i += 1;
        }
      }
      if (i >= text.length) throw new QuerySyntaxError('Syntax error, unterminated string literal.');
      i += 1;
      tokens.push({ type: 'string', value });
    } else {
      const two = text.slice(i, i + 2);
      if (['!=', '<>', '<=', '>='].includes(two)) {
        tokens.push({ type: 'symbol', text: two });
        i += 2;
      } else if ('*,.()[]=<>-'.includes(ch)) {
        tokens.push({ type: 'symbol', text: ch });
        i += 1;
      } else {
        throw new QuerySyntaxError(`Syntax error, invalid character '${ch}' at position ${i}.`);
      }
    }
  }
  return tokens;
}

// ---------------------------------------------------------------- parser

const KEYWORDS = new Set(['SELECT', 'TOP', 'VALUE', 'FROM', 'WHERE', 'ORDER', 'BY', 'ASC', 'DESC', 'AND', 'OR', 'NOT', 'AS', 'OFFSET', 'LIMIT', 'DISTINCT', 'JOIN', 'GROUP', 'IN']);
const FUNCTIONS = new Set(['IS_DEFINED', 'IS_NULL', 'STARTSWITH', 'CONTAINS', 'ARRAY_CONTAINS', 'LOWER', 'UPPER', 'COUNT']);

class Parser {
  private position = 0;
  private alias = '';

  constructor(private readonly tokens: Token[]) {}

  parseQuery(): ParsedQuery {
    this.expectKeyword('SELECT');
    const query: ParsedQuery = { selectStar: false, projections: [], alias: '', orderBy: [] };
    if (this.peekKeyword('DISTINCT')) this.unsupported('DISTINCT');
    if (this.acceptKeyword('TOP')) query.top = this.expectInteger('TOP');

    // The select list refers to the alias defined later in FROM: parse it once the alias is known.
    const selectStart = this.position;
    this.skipToKeyword('FROM');
    this.expectKeyword('FROM');
    const source = this.expectWord('a collection alias after FROM');
    this.alias = source;
    if (this.acceptKeyword('AS')) this.alias = this.expectWord('an alias after AS');
    else if (this.peekWord() && !this.peekAnyKeyword()) this.alias = this.expectWord('an alias');
    query.alias = this.alias;
    if (this.peekKeyword('JOIN')) this.unsupported('JOIN');

    const afterFrom = this.position;
    this.position = selectStart;
    if (this.acceptSymbol('*')) {
      query.selectStar = true;
    } else if (this.acceptKeyword('VALUE')) {
      query.selectValue = this.parseExpr();
    } else {
      do {
        const expr = this.parseExpr();
        const alias = this.acceptKeyword('AS') ? this.expectWord('a name after AS') : undefined;
        query.projections.push(alias === undefined ? { expr } : { expr, alias });
      } while (this.acceptSymbol(','));
    }
    if (!this.peekKeyword('FROM')) this.fail('FROM');
    this.position = afterFrom;

    if (this.acceptKeyword('WHERE')) query.where = this.parseExpr();
    if (this.peekKeyword('GROUP')) this.unsupported('GROUP BY');
    if (this.acceptKeyword('ORDER')) {
      this.expectKeyword('BY');
      do {
        const expr = this.parseExpr();
        const descending = this.acceptKeyword('DESC');
        if (!descending) this.acceptKeyword('ASC');
        query.orderBy.push({ expr, descending });
      } while (this.acceptSymbol(','));
    }
    if (this.acceptKeyword('OFFSET')) {
      query.offset = this.expectInteger('OFFSET');
      this.expectKeyword('LIMIT');
      query.limit = this.expectInteger('LIMIT');
    }
    if (this.position < this.tokens.length) this.fail('the end of the query');
    return query;
  }

  private parseExpr(): Expr {
    return this.parseOr();
  }

  private parseOr(): Expr {
    let left = this.parseAnd();
    while (this.acceptKeyword('OR')) left = { kind: 'binary', op: 'OR', left, right: this.parseAnd() };
    return left;
  }

  private parseAnd(): Expr {
    let left = this.parseNot();
    while (this.acceptKeyword('AND')) left = { kind: 'binary', op: 'AND', left, right: this.parseNot() };
    return left;
  }

  private parseNot(): Expr {
    if (this.acceptKeyword('NOT')) return { kind: 'unary', op: 'NOT', operand: this.parseNot() };
    return this.parseComparison();
  }

  private parseComparison(): Expr {
    const left = this.parseUnary();
    const token = this.tokens[this.position];
    if (token?.type === 'symbol' && ['=', '!=', '<>', '<', '<=', '>', '>='].includes(token.text)) {
      this.position += 1;
      return { kind: 'binary', op: token.text === '<>' ? '!=' : token.text, left, right: this.parseUnary() };
    }
    if (this.peekKeyword('IN')) this.unsupported('IN');
    return left;
  }

  private parseUnary(): Expr {
    if (this.acceptSymbol('-')) return { kind: 'unary', op: '-', operand: this.parsePrimary() };
    return this.parsePrimary();
  }

  private parsePrimary(): Expr {
    const token = this.tokens[this.position];
    if (!token) this.fail('an expression');
    if (token.type === 'string' || token.type === 'number') {
      this.position += 1;
      return { kind: 'literal', value: token.value };
    }
    if (token.type === 'parameter') {
      this.position += 1;
      return { kind: 'parameter', name: token.name };
    }
    if (token.type === 'symbol' && token.text === '(') {
      this.position += 1;
      const inner = this.parseExpr();
      this.expectSymbol(')');
      return inner;
    }
    if (token.type === 'word') {
      const upper = token.text.toUpperCase();
      if (upper === 'TRUE' || upper === 'FALSE') {
        this.position += 1;
        return { kind: 'literal', value: upper === 'TRUE' };
      }
      if (upper === 'NULL') {
        this.position += 1;
        return { kind: 'literal', value: null };
      }
      if (upper === 'UNDEFINED') {
        this.position += 1;
        return { kind: 'literal', value: undefined };
      }
      const next = this.tokens[this.position + 1];
      if (next?.type === 'symbol' && next.text === '(') {
        if (!FUNCTIONS.has(upper)) this.unsupported(`the function ${token.text}`);
        this.position += 2;
        const args: Expr[] = [];
        if (!this.acceptSymbol(')')) {
          do {
            if (upper === 'COUNT' && this.acceptSymbol('*')) args.push({ kind: 'literal', value: 1 });
            else args.push(this.parseExpr());
          } while (this.acceptSymbol(','));
          this.expectSymbol(')');
        }
        return { kind: 'call', name: upper, args };
      }
      if (token.text !== this.alias) {
        throw new QuerySyntaxError(`Identifier '${token.text}' could not be resolved.`);
      }
      this.position += 1;
      return { kind: 'path', root: token.text, steps: this.parseSteps() };
    }
    this.fail('an expression');
  }

  private parseSteps(): Expr[] {
    const steps: Expr[] = [];
    for (;;) {
      if (this.acceptSymbol('.')) {
        steps.push({ kind: 'literal', value: this.expectWord('a property name after "."') });
      } else if (this.acceptSymbol('[')) {
        steps.push(this.parseExpr());
        this.expectSymbol(']');
      } else {
        return steps;
      }
    }
  }

  private skipToKeyword(keyword: string): void {
    let depth = 0;
    while (this.position < this.tokens.length) {
      const token = this.tokens[this.position];
      if (token.type === 'symbol' && (token.text === '(' || token.text === '[')) depth += 1;
      if (token.type === 'symbol' && (token.text === ')' || token.text === ']')) depth -= 1;
      if (depth === 0 && token.type === 'word' && token.text.toUpperCase() === keyword) return;
      this.position += 1;
    }
    this.fail(keyword);
  }

  private peekWord(): boolean {
    return this.tokens[this.position]?.type === 'word';
  }

  private peekAnyKeyword(): boolean {
    const token = this.tokens[this.position];
    return token?.type === 'word' && KEYWORDS.has(token.text.toUpperCase());
  }

  private peekKeyword(keyword: string): boolean {
    const token = this.tokens[this.position];
    return token?.type === 'word' && token.text.toUpperCase() === keyword;
  }

  private acceptKeyword(keyword: string): boolean {
    if (!this.peekKeyword(keyword)) return false;
    this.position += 1;
    return true;
  }

  private expectKeyword(keyword: string): void {
    if (!this.acceptKeyword(keyword)) this.fail(keyword);
  }

  private acceptSymbol(symbol: string): boolean {
    const token = this.tokens[this.position];
    if (token?.type !== 'symbol' || token.text !== symbol) return false;
    this.position += 1;
    return true;
  }

  private expectSymbol(symbol: string): void {
    if (!this.acceptSymbol(symbol)) this.fail(`'${symbol}'`);
  }

  private expectWord(what: string): string {
    const token = this.tokens[this.position];
    if (token?.type !== 'word') this.fail(what);
    this.position += 1;
    return token.text;
  }

  private expectInteger(after: string): number {
    const token = this.tokens[this.position];
    if (token?.type !== 'number' || !Number.isInteger(token.value) || token.value < 0) this.fail(`a non-negative integer after ${after}`);
    this.position += 1;
    return token.value;
  }

  private fail(expected: string): never {
    const token = this.tokens[this.position];
    const near = token === undefined ? 'the end of the query' : `'${describe(token)}'`;
    throw new QuerySyntaxError(`Syntax error, incorrect syntax near ${near}: expected ${expected}.`);
  }

  private unsupported(feature: string): never {
    throw new QuerySyntaxError(`The local emulator's query engine does not support ${feature}.`);
  }
}

function describe(token: Token): string {
  switch (token.type) {
    case 'word':
    case 'symbol':
      return token.text;
    case 'string':
      return `'${token.value}'`;
    case 'number':
      return String(token.value);
    case 'parameter':
      return token.name;
  }
}

// ---------------------------------------------------------------- evaluation

interface Scope {
  alias: string;
  document: Record<string, unknown>;
  parameterValues: Map<string, unknown>;
}

function evaluateExpr(expr: Expr, scope: Scope): Json {
  switch (expr.kind) {
    case 'literal':
      return expr.value;
    case 'parameter':
      if (!scope.parameterValues.has(expr.name.toLowerCase())) {
        throw new QuerySyntaxError(`The query parameter ${expr.name} is not defined.`);
      }
      return scope.parameterValues.get(expr.name.toLowerCase());
    case 'path': {
      let current: unknown = scope.document;
      for (const step of expr.steps) {
        const key = evaluateExpr(step, scope);
        if (current === null || typeof current !== 'object') return undefined;
        if (Array.isArray(current)) current = typeof key === 'number' ? current[key] : undefined;
        else current = typeof key === 'string' ? (current as Record<string, unknown>)[key] : undefined;
      }
      return current;
    }
    case 'unary': {
      const operand = evaluateExpr(expr.operand, scope);
      if (expr.op === 'NOT') return typeof operand === 'boolean' ? !operand : undefined;
      return typeof operand === 'number' ? -operand : undefined;
    }
    case 'binary':
      return evaluateBinary(expr.op, expr.left, expr.right, scope);
    case 'call':
      return evaluateCall(expr.name, expr.args.map((arg) => evaluateExpr(arg, scope)));
  }
}

function evaluateBinary(op: string, leftExpr: Expr, rightExpr: Expr, scope: Scope): Json {
  const left = evaluateExpr(leftExpr, scope);
  if (op === 'AND') {
    if (left === false) return false;
    const right = evaluateExpr(rightExpr, scope);
    if (right === false) return false;
    return left === true && right === true ? true : undefined;
  }
  if (op === 'OR') {
    if (left === true) return true;
    const right = evaluateExpr(rightExpr, scope);
    if (right === true) return true;
    return left === false && right === false ? false : undefined;
  }
  const right = evaluateExpr(rightExpr, scope);
  // Comparisons across types (or with undefined) are undefined, so the row is not selected.
  if (left === undefined || right === undefined || typeOf(left) !== typeOf(right)) return undefined;
  switch (op) {
    case '=':
      return deepEqual(left, right);
    case '!=':
      return !deepEqual(left, right);
    default: {
      if (typeof left !== 'number' && typeof left !== 'string' && typeof left !== 'boolean') return undefined;
      const order = compareScalars(left, right as number | string | boolean);
      if (op === '<') return order < 0;
      if (op === '<=') return order <= 0;
      if (op === '>') return order > 0;
      return order >= 0;
    }
  }
}

function evaluateCall(name: string, args: Json[]): Json {
  const [first, second] = args;
  switch (name) {
    case 'IS_DEFINED':
      return first !== undefined;
    case 'IS_NULL':
      return first === null;
    case 'STARTSWITH':
      return typeof first === 'string' && typeof second === 'string' ? first.startsWith(second) : undefined;
    case 'CONTAINS':
      return typeof first === 'string' && typeof second === 'string' ? first.includes(second) : undefined;
    case 'ARRAY_CONTAINS':
      return Array.isArray(first) ? first.some((item) => deepEqual(item, second)) : undefined;
    case 'LOWER':
      return typeof first === 'string' ? first.toLowerCase() : undefined;
    case 'UPPER':
      return typeof first === 'string' ? first.toUpperCase() : undefined;
    default:
      throw new QuerySyntaxError(`${name} is only supported as SELECT VALUE ${name}(1).`);
  }
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeOf(a) !== typeOf(b) || a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a)) {
    const other = b as unknown[];
    return a.length === other.length && a.every((item, index) => deepEqual(item, other[index]));
  }
  const aKeys = Object.keys(a as object);
  const bRecord = b as Record<string, unknown>;
  return aKeys.length === Object.keys(bRecord).length && aKeys.every((key) => deepEqual((a as Record<string, unknown>)[key], bRecord[key]));
}

function compareScalars(a: number | string | boolean, b: number | string | boolean): number {
  if (a === b) return 0;
  return a < b ? -1 : 1;
}

/** Cosmos DB's ORDER BY order across types: undefined, null, booleans, numbers, strings. */
function compareForOrderBy(a: unknown, b: unknown): number {
  const rank = (value: unknown): number => {
    if (value === undefined) return 0;
    if (value === null) return 1;
    if (typeof value === 'boolean') return 2;
    if (typeof value === 'number') return 3;
    if (typeof value === 'string') return 4;
    return 5;
  };
  const rankDifference = rank(a) - rank(b);
  if (rankDifference !== 0) return rankDifference;
  if (typeof a === 'number' || typeof a === 'string' || typeof a === 'boolean') return compareScalars(a, b as number | string | boolean);
  return 0;
}
