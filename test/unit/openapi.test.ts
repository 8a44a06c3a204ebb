import { beforeAll, describe, expect, it } from 'vitest';
import { installFunctionsHost } from '../../emulator/durable/functions-host.js';
import { describeRegisteredFunctions, type FunctionRegistration } from '../../emulator/durable/registrations.js';
import { MAX_BODY_BYTES, type BodySpec } from '../../src/api/body.js';
import { API_ERROR_CODES } from '../../src/api/errors.js';
import { BODY_SPECS } from '../../src/api/operations.js';
import { documentedOperations, loadOpenApi, operationById, schemaErrors, type Schema } from '../helpers/openapi.js';

const doc = loadOpenApi();
let httpFunctions: FunctionRegistration[];

beforeAll(async () => {
  installFunctionsHost();
  await import('../../functions/http.js');
  httpFunctions = describeRegisteredFunctions().filter((fn) => fn.triggerType === 'httpTrigger');
});

describe('docs/openapi.json against the registered HTTP functions', () => {
  it('when the app registers its HTTP functions, then each route and method is documented under the same operationId, and nothing else is', () => {
    const registered = httpFunctions.flatMap((fn) => (fn.methods ?? []).map((method) => `${method} /${fn.effectiveRoute} ${fn.name}`)).sort();
    const documented = documentedOperations(doc)
      .map((op) => `${op.method} ${op.path} ${op.operation.operationId}`)
      .sort();
    expect(registered).toEqual(documented);
    expect(doc.servers[0]!.url).toBe('/api');
  });

  it('when a function is guarded by a function key, then the document requires one on every operation', () => {
    expect(httpFunctions.map((fn) => fn.authLevel)).toEqual(httpFunctions.map(() => 'function'));
    const schemes = doc.security.flatMap((requirement) => Object.keys(requirement)).map((name) => doc.components.securitySchemes[name]);
    expect(schemes).toEqual(expect.arrayContaining([expect.objectContaining({ in: 'header', name: 'x-functions-key' }), expect.objectContaining({ in: 'query', name: 'code' })]));
  });

  it('when a route has a {account} parameter, then the document declares it as a path parameter', () => {
    for (const { path, operation } of documentedOperations(doc)) {
      const names = [...path.matchAll(/\{(\w+)\}/g)].map((match) => match[1]);
      expect(operation.parameters?.filter((p) => p.in === 'path').map((p) => p.name) ?? [], path).toEqual(names);
    }
  });
});

describe('docs/openapi.json against the code', () => {
  it('when the API refuses with an error code, then that code is in the documented enum, and the enum holds no code the API never sends', () => {
    const errorSchema = doc.components.schemas.Error!.properties!.error!.properties!.code!;
    expect([...(errorSchema.enum as string[])].sort()).toEqual([...API_ERROR_CODES].sort());
  });

  it.each([
    ['startRotation', BODY_SPECS.startRotation],
    ['consumersMoved', BODY_SPECS.consumersMoved],
    ['cancelRotation', BODY_SPECS.cancelRotation],
  ] as [string, BodySpec][])('when %s validates its body, then the documented request schema has the same fields, types, limits and required set', (operationId, spec) => {
    const body = operationById(doc, operationId).operation.requestBody!;
    const schema = resolve(body.content['application/json']!.schema);
    expect(schema.additionalProperties).toBe(false);
    expect(Object.keys(schema.properties!).sort()).toEqual(Object.keys(spec).sort());
    for (const [name, field] of Object.entries(spec)) {
      const property = schema.properties![name]!;
      expect(property.type, name).toBe(field.type);
      if (field.type === 'string') expect(property.maxLength, name).toBe(field.maxLength);
    }
    const required = Object.entries(spec).filter(([, field]) => field.required).map(([name]) => name);
    expect([...(schema.required ?? [])].sort()).toEqual(required.sort());
    expect(body.required ?? false).toBe(required.length > 0);
  });

  it('when a body is too large, then the documented limit is the one enforced', () => {
    expect(MAX_BODY_BYTES).toBe(16 * 1024);
    for (const { operation } of documentedOperations(doc).filter((op) => op.operation.requestBody)) {
      expect(operation.responses['400']!.description).toContain('16 KiB');
    }
  });

  it('when an operation can fail, then 401 and 500 are documented and every error status uses the Error schema', () => {
    for (const { operation } of documentedOperations(doc)) {
      expect(Object.keys(operation.responses)).toEqual(expect.arrayContaining(['401', '500']));
      for (const [status, response] of Object.entries(operation.responses)) {
        if (Number(status) >= 400 && status !== '401') expect(response.content?.['application/json']?.schema, `${operation.operationId} ${status}`).toEqual({ $ref: '#/components/schemas/Error' });
      }
    }
  });

  it('when the document refers to a schema, then the schema exists, and the validator rejects what it should', () => {
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/schemas\/(\w+)"/g)].map((match) => match[1]!);
    for (const name of refs) expect(doc.components.schemas[name], name).toBeDefined();
    const error = { $ref: '#/components/schemas/Error' };
    expect(schemaErrors(doc, error, { error: { code: 'rotationRunning', message: 'm' } })).toEqual([]);
    expect(schemaErrors(doc, error, { error: { code: 'nope', message: 'm' } })).not.toEqual([]);
    expect(schemaErrors(doc, error, { error: { code: 'rotationRunning', message: 'm' }, stack: 'x' })).toEqual(['$: undocumented property "stack"']);
  });
});

function resolve(schema: Schema): Schema {
  return schema.$ref ? doc.components.schemas[schema.$ref.replace('#/components/schemas/', '')]! : schema;
}
