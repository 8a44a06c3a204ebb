/**
 * The operator API as an operator meets it: the app's own functions/http.ts
 * and functions/schedule.ts, loaded into the durable driver next to the
 * rotation, called over the route table with the real durable client. Every
 * response is held against docs/openapi.json and searched for key values.
 */
import { expect } from 'vitest';
import type { HttpInvocationResult } from '../../emulator/durable/index.js';
import { loadOpenApi, responseErrors } from '../helpers/openapi.js';
import { RotationHarness, type HarnessOptions } from './rotation-harness.js';

const openApi = loadOpenApi();

export interface ApiCall {
  status: number;
  headers: Record<string, string>;
  body: Record<string, unknown> & { error?: { code: string; message: string } };
  functionName?: string;
}

export class ApiHarness {
  /** Every response body the API gave, for the key-leak check. */
  readonly responses: string[] = [];

  private constructor(readonly rotation: RotationHarness) {}

  static async start(options: HarnessOptions): Promise<ApiHarness> {
    const rotation = await RotationHarness.start(options);
    await rotation.driver.loadFunctions(
      () => import('../../functions/http.js'),
      () => import('../../functions/schedule.js'),
    );
    return new ApiHarness(rotation);
  }

  get driver() {
    return this.rotation.driver;
  }

  get clock() {
    return this.rotation.clock;
  }

  /**
   * Calls `METHOD /api/...` through the route table. The response must be
   * documented for the operation the route resolves to, body and all.
   */
  async call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiCall> {
    const result: HttpInvocationResult = await this.driver.invokeHttp(`/api${path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body }),
    });
    this.responses.push(result.body);
    const json = result.jsonBody as ApiCall['body'];
    if (result.functionName) expect(responseErrors(openApi, result.functionName, result.status, json ?? result.body), `${method} ${path}`).toEqual([]);
    return { status: result.status, headers: lowerCase(result.headers), body: json, ...(result.functionName ? { functionName: result.functionName } : {}) };
  }

  async runTimer(): Promise<void> {
    await this.driver.invokeTimer('rotationSchedule');
  }

  /** Key values that appeared in any API response. */
  leakedKeys(): string[] {
    this.rotation.collectKeys();
    const text = this.responses.join('\n');
    return [...this.rotation.issuedKeys].filter((key) => text.includes(key) || text.includes(encodeURIComponent(key)));
  }

  async close(): Promise<void> {
    await this.rotation.close();
  }
}

function lowerCase(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
}
