/**
 * Invokes a captured function the way the Node.js worker does: the programming model
 * that `@azure/functions` installed builds the InvocationContext and arguments from RPC
 * typed data, calls the handler, and converts the result back to typed data. The
 * driver therefore sees what the host would see (JSON on the wire, an HTTP response
 * already validated and serialised).
 */
import { randomUUID } from 'node:crypto';
import {
  capturedFunction,
  programmingModel,
  type CoreInvocationContext,
  type CoreInvocationResponse,
  type RpcTypedData,
} from './functions-host.js';
import { isTriggerType } from './registrations.js';

export type FunctionLogHandler = (entry: { level: string; category: string; functionName: string; invocationId: string; message: string }) => void;

export interface InvokeOptions {
  /** The trigger's data. */
  trigger?: RpcTypedData | undefined;
  /** Data for other input bindings, by binding type (e.g. `durableClient`). */
  extraInputsByType?: Record<string, RpcTypedData>;
  onLog?: FunctionLogHandler;
}

export interface InvokeResult {
  invocationId: string;
  returnValue: RpcTypedData | null | undefined;
  outputData: CoreInvocationResponse['outputData'];
}

export class FunctionNotFoundError extends Error {
  override name = 'FunctionNotFoundError';
}

export async function invokeCapturedFunction(functionName: string, options: InvokeOptions = {}): Promise<InvokeResult> {
  const captured = capturedFunction(functionName);
  if (!captured) throw new FunctionNotFoundError(`The function '${functionName}' is not registered.`);
  const model = programmingModel();
  if (!model) throw new FunctionNotFoundError('No programming model was set: nothing registered through @azure/functions.');

  const invocationId = randomUUID();
  const inputData: CoreInvocationContext['request']['inputData'] = [];
  for (const [bindingName, binding] of Object.entries(captured.metadata.bindings)) {
    if (binding.direction !== 'in') continue;
    if (isTriggerType(binding.type)) inputData.push({ name: bindingName, data: options.trigger });
    else {
      const data = options.extraInputsByType?.[binding.type];
      if (data !== undefined) inputData.push({ name: bindingName, data });
    }
  }

  const coreContext: CoreInvocationContext = {
    invocationId,
    request: { invocationId, functionId: functionName, inputData, triggerMetadata: {} },
    metadata: { name: functionName, bindings: captured.metadata.bindings },
    state: 'invocation',
    log: (level, category, message) => options.onLog?.({ level, category, functionName, invocationId, message }),
  };
  const invocationModel = model.getInvocationModel(coreContext);
  const { context, inputs } = await invocationModel.getArguments();
  const result = await invocationModel.invokeFunction(context, inputs, captured.handler);
  const response = await invocationModel.getResponse(context, result);
  return { invocationId, returnValue: response.returnValue, outputData: response.outputData };
}

/** The value typed data carries, as the host would deserialise it. */
export function decodeTypedData(data: RpcTypedData | null | undefined): unknown {
  if (data === null || data === undefined) return undefined;
  if (data.string !== undefined && data.string !== null) return data.string;
  if (data.json !== undefined && data.json !== null) return JSON.parse(data.json);
  if (data.int !== undefined && data.int !== null) return Number(data.int);
  if (data.double !== undefined && data.double !== null) return Number(data.double);
  if (data.bytes !== undefined && data.bytes !== null) return Buffer.from(data.bytes);
  if (data.stream !== undefined && data.stream !== null) return Buffer.from(data.stream);
  if (data.http !== undefined && data.http !== null) return data.http;
  return undefined;
}

/** A JSON value as the host passes it to a trigger (strings stay strings, the rest is JSON). */
export function jsonValueTypedData(value: unknown): RpcTypedData | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return { string: value };
  return { json: JSON.stringify(value) };
}
