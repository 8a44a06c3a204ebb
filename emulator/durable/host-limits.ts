/**
 * Limits the Functions host and the Durable extension enforce and the
 * durable-functions library does not, so that a test sees what Azure would do:
 *
 * - custom status: the extension's DurableOrchestrationContext.SetCustomStatus
 *   serialises it with a 16 KB limit on its UTF-16 size, counted in whole KB
 *   (MessagePayloadDataConverter; Azure/azure-functions-durable-extension); over
 *   it the episode throws and the orchestration fails;
 * - functionTimeout (host.json, 10 minutes here): an activity still running past
 *   it is cancelled by the host and fails.
 */

/** The extension's MaxCustomStatusPayloadSizeInKB. */
export const MAX_CUSTOM_STATUS_KB = 16;

/** host.json's functionTimeout for this app ("00:10:00"). */
export const DEFAULT_FUNCTION_TIMEOUT_MS = 10 * 60_000;

/** The extension's refusal of a custom status, or undefined when it fits. */
export function customStatusTooLarge(customStatus: unknown): string | undefined {
  if (customStatus === undefined || customStatus === null) return undefined;
  const json = JSON.stringify(customStatus) ?? '';
  // UTF-16: two bytes per code unit (what Encoding.Unicode.GetByteCount counts).
  const sizeInKB = Math.floor((json.length * 2) / 1024);
  if (sizeInKB <= MAX_CUSTOM_STATUS_KB) return undefined;
  return `The UTF-16 size of the JSON-serialized payload must not exceed ${MAX_CUSTOM_STATUS_KB} KB. The current payload size is ${sizeInKB} KB.`;
}

/** The host's message for an activity that ran past functionTimeout. */
export function functionTimeoutMessage(functionName: string, timeoutMs: number, timeSpan: (ms: number) => string): string {
  return `Timeout value of ${timeSpan(timeoutMs)} was exceeded by function: Functions.${functionName}`;
}
