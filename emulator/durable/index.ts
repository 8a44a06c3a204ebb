/**
 * emulator/durable: an in-process stand-in for the Functions host's Durable Task
 * extension, for tests and the demo. See README.md. Not a production runtime.
 */
export {
  createDurableDriver,
  type ActivityInfo,
  type ClientInputData,
  type DriverLogEntry,
  type DriverLogger,
  type DriverLogLevel,
  type DurableDriver,
  type DurableDriverOptions,
  type FunctionModule,
  type HttpInvocation,
  type HttpInvocationResult,
  type InstanceWaitSummary,
  type ListInstancesFilter,
  type RunReport,
  type RunStopReason,
  type RunUntilIdleOptions,
  type TimerInvocation,
} from './driver.js';
export { DurableDriverError, type DurableDriverErrorCode } from './errors.js';
export { installFunctionsHost, isFunctionsHostInstalled, capturedHooks, FunctionRegistrationError } from './functions-host.js';
export { EventType, eventTypeName, isTerminalStatus, type HistoryEvent, type RuntimeStatus } from './history.js';
export type { EpisodeReplay, InstanceCounters } from './instance-store.js';
export { describeRegisteredFunctions, resolveBindingExpression, type BindingView, type FunctionRegistration } from './registrations.js';
export type { OrchestrationStatus, StatusPayload, StatusViewOptions } from './status.js';
