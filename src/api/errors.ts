/**
 * Every refusal of the operator API is one JSON shape, `{ "error": { "code",
 * "message" } }`, with a code a script can branch on and a message that names
 * what is wrong and what to do instead.
 */
import type { HttpResponseInit } from '@azure/functions';

export const API_ERROR_CODES = [
  'malformedJson',
  'bodyTooLarge',
  'invalidBody',
  'unknownField',
  'missingField',
  'invalidField',
  'invalidAccount',
  'accountNotConfigured',
  'noRotation',
  'rotationRunning',
  'notRunning',
  'notWaitingForConsumers',
  'invalidQuery',
  'azureError',
  'azureUnavailable',
  'configurationError',
  'internalError',
  'unauthenticated',
  'forbidden',
] as const;

export type ApiErrorCode = (typeof API_ERROR_CODES)[number];

export interface ApiErrorBody {
  error: { code: ApiErrorCode; message: string };
}

/** A refusal the handler decided on: becomes the HTTP response as is. */
export class ApiError extends Error {
  override readonly name = 'ApiError';

  constructor(
    readonly status: number,
    readonly code: ApiErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export function isApiError(error: unknown): error is ApiError {
  return typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'ApiError';
}

export function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}): HttpResponseInit {
  return { status, jsonBody: body, headers: { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', ...headers } };
}

export function errorResponse(error: ApiError): HttpResponseInit {
  const body: ApiErrorBody = { error: { code: error.code, message: error.message } };
  return jsonResponse(error.status, body, error.headers);
}
