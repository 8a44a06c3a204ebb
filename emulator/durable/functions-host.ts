/**
 * Stand-in for `@azure/functions-core`, the virtual module the Functions host injects
 * into the Node.js worker. `@azure/functions` looks it up lazily with `require` and
 * caches a failed lookup ("test mode": registrations are dropped with a warning), so
 * the stand-in must be installed before the first `app.*` / `df.app.*` call.
 *
 * What it records is what the host would index: function metadata (bindings with
 * their options) and the handler, plus the programming model `@azure/functions`
 * installs, which the driver then uses to invoke functions exactly as the worker does.
 */
import Module from 'node:module';
import { createRequire } from 'node:module';

export type BindingDirection = 'in' | 'out' | 'inout';

/** One binding as `@azure/functions` describes it to the host (trigger options included). */
export interface CoreBindingInfo {
  type: string;
  direction?: BindingDirection;
  properties?: Record<string, string>;
  [option: string]: unknown;
}

export interface CoreFunctionMetadata {
  name: string;
  bindings: Record<string, CoreBindingInfo>;
  retryOptions?: unknown;
}

export type CoreFunctionCallback = (...args: unknown[]) => unknown;

export type HookName = 'appStart' | 'appTerminate' | 'preInvocation' | 'postInvocation' | 'log' | string;

export interface CapturedFunction {
  metadata: CoreFunctionMetadata;
  handler: CoreFunctionCallback;
}

export interface CapturedHook {
  hookName: HookName;
  callback: (...args: unknown[]) => unknown;
}

/** The parts of the programming model (`@azure/functions`' ProgrammingModel) the driver uses. */
export interface CoreProgrammingModel {
  name: string;
  version: string;
  getInvocationModel(coreContext: CoreInvocationContext): CoreInvocationModel;
}

export interface CoreInvocationModel {
  getArguments(): Promise<{ context: unknown; inputs: unknown[] }>;
  invokeFunction(context: unknown, inputs: unknown[], handler: CoreFunctionCallback): Promise<unknown>;
  getResponse(context: unknown, result: unknown): Promise<CoreInvocationResponse>;
}

/** RPC typed data: exactly one member is set. */
export interface RpcTypedData {
  string?: string;
  json?: string;
  bytes?: Uint8Array;
  stream?: Uint8Array;
  http?: RpcHttpData;
  int?: number;
  double?: number;
}

export interface RpcHttpData {
  method?: string;
  url?: string;
  headers?: Record<string, string>;
  body?: RpcTypedData | null;
  params?: Record<string, string>;
  query?: Record<string, string>;
  statusCode?: string;
  cookies?: unknown[];
  enableContentNegotiation?: boolean;
}

export interface CoreInvocationContext {
  invocationId: string;
  request: {
    invocationId: string;
    functionId: string;
    inputData: Array<{ name: string; data: RpcTypedData | undefined }>;
    triggerMetadata: Record<string, RpcTypedData>;
  };
  metadata: { name: string; bindings: Record<string, CoreBindingInfo> };
  state?: string;
  log(level: string, category: string, message: string): void;
}

export interface CoreInvocationResponse {
  invocationId: string;
  outputData?: Array<{ name: string; data: RpcTypedData | null | undefined }>;
  returnValue?: RpcTypedData | null;
}

export type SystemLogSink = (level: string, message: string) => void;

interface HostState {
  installed: boolean;
  functions: Map<string, CapturedFunction>;
  hooks: CapturedHook[];
  programmingModel: CoreProgrammingModel | undefined;
  systemLogSinks: Set<SystemLogSink>;
}

// Kept on globalThis: the driver module may be evaluated more than once (a test
// runner's module graph and Node's own), but there is one `@azure/functions` per process.
const stateKey = Symbol.for('cosmos-key-rotation.durable-driver.functions-host');
const globalState = globalThis as unknown as Record<symbol, HostState | undefined>;
const state: HostState = (globalState[stateKey] ??= {
  installed: false,
  functions: new Map(),
  hooks: [],
  programmingModel: undefined,
  systemLogSinks: new Set(),
});

class Disposable {
  #callback: (() => void) | undefined;
  constructor(callback: () => void) {
    this.#callback = callback;
  }
  dispose(): void {
    this.#callback?.();
    this.#callback = undefined;
  }
}

export class FunctionRegistrationError extends Error {
  override name = 'FunctionRegistrationError';
}

const coreApi = {
  // Not real worker/host versions: nothing in @azure/functions reads them, and a
  // reader of a log line should not mistake this stand-in for the real worker.
  version: '0.0.0-durable-driver',
  hostVersion: '0.0.0-durable-driver',
  Disposable,
  registerFunction(metadata: CoreFunctionMetadata, handler: CoreFunctionCallback): Disposable {
    if (state.functions.has(metadata.name)) {
      // The worker refuses duplicates too: two functions cannot share a name in one app.
      throw new FunctionRegistrationError(`A function with name "${metadata.name}" has already been registered.`);
    }
    state.functions.set(metadata.name, { metadata, handler });
    return new Disposable(() => {
      if (state.functions.get(metadata.name)?.handler === handler) state.functions.delete(metadata.name);
    });
  },
  registerHook(hookName: HookName, callback: (...args: unknown[]) => unknown): Disposable {
    const hook: CapturedHook = { hookName, callback };
    state.hooks.push(hook);
    return new Disposable(() => {
      const index = state.hooks.indexOf(hook);
      if (index >= 0) state.hooks.splice(index, 1);
    });
  },
  setProgrammingModel(model: CoreProgrammingModel): void {
    state.programmingModel = model;
  },
  getProgrammingModel(): CoreProgrammingModel | undefined {
    return state.programmingModel;
  },
  log(level: string, _category: string, message: string): void {
    for (const sink of state.systemLogSinks) sink(level, message);
  },
};

const coreModuleId = '@azure/functions-core';

/**
 * Makes `require('@azure/functions-core')` return the stand-in, for every module in the
 * process. Idempotent. Call it before any module registers functions: import
 * `emulator/durable/install.js` first, or call this and then `import()` the app.
 */
export function installFunctionsHost(): void {
  if (state.installed) return;
  const moduleWithLoad = Module as unknown as {
    _load: (request: string, parent: unknown, isMain: boolean) => unknown;
  };
  const originalLoad = moduleWithLoad._load;
  moduleWithLoad._load = function loadWithFunctionsCore(this: unknown, request: string, parent: unknown, isMain: boolean) {
    if (request === coreModuleId) return coreApi;
    return originalLoad.call(this, request, parent, isMain);
  };
  state.installed = true;
  warnIfInstalledTooLate();
}

function warnIfInstalledTooLate(): void {
  const require = createRequire(import.meta.url);
  let resolved: string | undefined;
  try {
    resolved = require.resolve('@azure/functions');
  } catch {
    return;
  }
  if (require.cache[resolved] && !state.programmingModel) {
    // Not an error by itself: loading is fine, registering is not. If something
    // registered already, @azure/functions cached "no host" and dropped it.
    console.warn(
      'installFunctionsHost(): @azure/functions was loaded before the host stand-in was installed; ' +
        'functions registered before this point were dropped ("test mode").',
    );
  }
}

export function isFunctionsHostInstalled(): boolean {
  return state.installed;
}

export function capturedFunctions(): CapturedFunction[] {
  return [...state.functions.values()];
}

export function capturedFunction(name: string): CapturedFunction | undefined {
  return state.functions.get(name);
}

export function capturedHooks(): CapturedHook[] {
  return [...state.hooks];
}

export function programmingModel(): CoreProgrammingModel | undefined {
  return state.programmingModel;
}

/** Receives the library's system log lines (coreApi.log); returns an unsubscribe function. */
export function addSystemLogSink(sink: SystemLogSink): () => void {
  state.systemLogSinks.add(sink);
  return () => state.systemLogSinks.delete(sink);
}
