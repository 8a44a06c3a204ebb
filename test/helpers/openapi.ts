/**
 * The checked-in OpenAPI document (docs/openapi.json) and a small validator
 * for the JSON Schema subset it uses, so tests can hold every response the
 * API gives against what the document promises.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export type Schema = {
  $ref?: string;
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  items?: Schema;
  oneOf?: Schema[];
  format?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  description?: string;
};

export interface OpenApiOperation {
  operationId: string;
  parameters?: { name: string; in: string; required?: boolean }[];
  requestBody?: { required?: boolean; content: Record<string, { schema: Schema }> };
  responses: Record<string, { description: string; content?: Record<string, { schema: Schema }>; headers?: Record<string, unknown> }>;
}

export interface OpenApiDocument {
  openapi: string;
  servers: { url: string }[];
  security: Record<string, string[]>[];
  paths: Record<string, Record<string, OpenApiOperation>>;
  components: { schemas: Record<string, Schema>; securitySchemes: Record<string, { type: string; in: string; name: string }> };
}

export const OPENAPI_PATH = fileURLToPath(new URL('../../docs/openapi.json', import.meta.url));

export function loadOpenApi(): OpenApiDocument {
  return JSON.parse(readFileSync(OPENAPI_PATH, 'utf8')) as OpenApiDocument;
}

export interface DocumentedOperation {
  method: string;
  /** The path below the server URL, e.g. `/rotations/{account}`. */
  path: string;
  operation: OpenApiOperation;
}

export function documentedOperations(doc: OpenApiDocument): DocumentedOperation[] {
  return Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, operation]) => ({ method: method.toUpperCase(), path, operation })),
  );
}

export function operationById(doc: OpenApiDocument, operationId: string): DocumentedOperation {
  const found = documentedOperations(doc).find((op) => op.operation.operationId === operationId);
  if (!found) throw new Error(`docs/openapi.json documents no operation "${operationId}"`);
  return found;
}

/** Every way `value` breaks `schema` (empty when it conforms), each with its JSON path. */
export function schemaErrors(doc: OpenApiDocument, schema: Schema, value: unknown, path = '$'): string[] {
  if (schema.$ref) {
    const name = schema.$ref.replace('#/components/schemas/', '');
    const target = doc.components.schemas[name];
    if (!target) return [`${path}: unknown $ref ${schema.$ref}`];
    return schemaErrors(doc, target, value, path);
  }
  if (schema.oneOf) {
    const matching = schema.oneOf.filter((option) => schemaErrors(doc, option, value, path).length === 0);
    if (matching.length === 1) return [];
    if (matching.length > 1) return [`${path}: matches ${matching.length} of oneOf`];
    return [`${path}: matches none of oneOf: ${schema.oneOf.map((option) => schemaErrors(doc, option, value, path).join(', ')).join(' | ')}`];
  }
  const errors: string[] = [];
  if ('const' in schema && value !== schema.const) errors.push(`${path}: expected ${JSON.stringify(schema.const)}, got ${JSON.stringify(value)}`);
  if (schema.enum && !schema.enum.includes(value)) errors.push(`${path}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`);
  if (schema.type) {
    const types = Array.isArray(schema.type) ? schema.type : [schema.type];
    if (!types.some((type) => hasType(value, type))) {
      errors.push(`${path}: expected ${types.join(' or ')}, got ${value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value}`);
      return errors;
    }
  }
  if (typeof value === 'string') {
    if (schema.minLength !== undefined && value.length < schema.minLength) errors.push(`${path}: shorter than ${schema.minLength}`);
    if (schema.maxLength !== undefined && value.length > schema.maxLength) errors.push(`${path}: longer than ${schema.maxLength}`);
    if (schema.format === 'date-time' && !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(value)) errors.push(`${path}: "${value}" is not a date-time`);
    if (schema.format === 'uri' && !URL.canParse(value)) errors.push(`${path}: "${value}" is not a URI`);
  }
  if (typeof value === 'number' && schema.minimum !== undefined && value < schema.minimum) errors.push(`${path}: below ${schema.minimum}`);
  if (Array.isArray(value) && schema.items) value.forEach((item, index) => errors.push(...schemaErrors(doc, schema.items!, item, `${path}[${index}]`)));
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const record = value as Record<string, unknown>;
    for (const name of schema.required ?? []) if (!(name in record)) errors.push(`${path}: missing "${name}"`);
    for (const [name, item] of Object.entries(record)) {
      const property = schema.properties?.[name];
      if (property) errors.push(...schemaErrors(doc, property, item, `${path}.${name}`));
      else if (schema.additionalProperties === false) errors.push(`${path}: undocumented property "${name}"`);
      else if (typeof schema.additionalProperties === 'object') errors.push(...schemaErrors(doc, schema.additionalProperties, item, `${path}.${name}`));
    }
  }
  return errors;
}

function hasType(value: unknown, type: string): boolean {
  switch (type) {
    case 'null':
      return value === null;
    case 'array':
      return Array.isArray(value);
    case 'object':
      return value !== null && typeof value === 'object' && !Array.isArray(value);
    case 'integer':
      return Number.isInteger(value);
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    default:
      return typeof value === type;
  }
}

/**
 * Holds a response to the document: its status must be documented for the
 * operation, and its JSON body must match that status's schema.
 */
export function responseErrors(doc: OpenApiDocument, operationId: string, status: number, body: unknown): string[] {
  const { operation } = operationById(doc, operationId);
  const documented = operation.responses[String(status)];
  if (!documented) return [`${operationId}: status ${status} is not documented (documented: ${Object.keys(operation.responses).join(', ')})`];
  if (documented.content?.['text/html']) return typeof body === 'string' && body.startsWith('<!doctype html>') ? [] : [`${operationId} ${status}: expected an HTML page`];
  const schema = documented.content?.['application/json']?.schema;
  if (!schema) return body === undefined || body === null || body === '' ? [] : [`${operationId} ${status}: a body was sent but none is documented`];
  return schemaErrors(doc, schema, body).map((error) => `${operationId} ${status}: ${error}`);
}
