import { HttpRequest, InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { describe, expect, it } from 'vitest';
import { httpOperation } from '../../src/api/http-handler.js';
import type { ApiDependencies, Operation } from '../../src/api/operations.js';
import { ConfigError } from '../../src/errors.js';

const LEAKY_KEY = `${'Zk9vYmFy'.repeat(10)}AbCdEf==`;

/** The binding data the host passes for a durable client input; no call reaches its URLs in these tests. */
function invocation(logs: string[]): InvocationContext {
  const durableClient = df.input.durableClient();
  const context = new InvocationContext({
    invocationId: 'inv-1234',
    functionName: 'startRotation',
    options: { extraInputs: [durableClient] },
    logHandler: (level, ...args) => logs.push(`${level} ${args.join(' ')}`),
  });
  const webhooks = 'http://127.0.0.1:1/runtime/webhooks/durabletask';
  context.extraInputs.set(durableClient, {
    taskHubName: 'hub',
    creationUrls: { createNewInstancePostUri: `${webhooks}/orchestrators/{functionName}[/{instanceId}]?code=x`, createAndWaitOnNewInstancePostUri: `${webhooks}/x` },
    managementUrls: { id: 'INSTANCEID', statusQueryGetUri: `${webhooks}/instances/INSTANCEID?code=x`, sendEventPostUri: `${webhooks}/x`, terminatePostUri: `${webhooks}/x`, rewindPostUri: `${webhooks}/x`, purgeHistoryDeleteUri: `${webhooks}/x` },
    baseUrl: webhooks,
    requiredQueryStringParameters: 'code=x',
    rpcBaseUrl: 'http://127.0.0.1:1/durabletask/',
  });
  return context;
}

const deps = (): ApiDependencies => ({ config: { targets: [], operatorApiAuth: 'function-key' }, listSecretProperties: async () => new Map(), inspectAccount: async () => { throw new Error('unused'); }, now: () => new Date() });
const request = () => new HttpRequest({ url: 'http://localhost/api/rotations', method: 'GET' });

describe('httpOperation', () => {
  it('when an operation fails unexpectedly, then the answer is a 500 naming the invocation, and neither the message nor the stack leaves the app', async () => {
    const logs: string[] = [];
    const failing: Operation = async () => {
      throw new TypeError(`Cannot read properties of undefined (connection AccountEndpoint=https://x;AccountKey=${LEAKY_KEY};)`);
    };

    const response = await httpOperation('listRotations', failing, deps)(request(), invocation(logs));

    expect(response.status).toBe(500);
    const body = JSON.stringify((response as { jsonBody?: unknown }).jsonBody);
    expect(JSON.parse(body)).toEqual({ error: { code: 'internalError', message: expect.stringContaining('inv-1234') } });
    expect(body).not.toContain('TypeError');
    expect(body).not.toContain('AccountKey');
    // The log keeps what an engineer needs, scrubbed of the key.
    expect(logs.join('\n')).toContain('TypeError');
    expect(logs.join('\n')).not.toContain(LEAKY_KEY);
  });

  it('when the settings are invalid, then the answer is a 500 configurationError that names the setting', async () => {
    const logs: string[] = [];
    const broken = () => {
      throw new ConfigError([{ setting: 'KEY_VAULT_URL', message: 'is required' }]);
    };
    const response = await httpOperation('listRotations', async () => ({ status: 200 }), broken)(request(), invocation(logs));
    expect(response.status).toBe(500);
    expect((response as { jsonBody?: { error: { code: string; message: string } } }).jsonBody!.error).toMatchObject({ code: 'configurationError', message: expect.stringContaining('KEY_VAULT_URL') });
  });

});
