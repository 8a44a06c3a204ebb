/**
 * Strict request bodies: a JSON object of known fields with the right types,
 * no bigger than MAX_BODY_BYTES. Anything else is refused before any work is
 * done, with a message that names the field and what it should be.
 */
import type { HttpRequest } from '@azure/functions';
import { ApiError } from './errors.js';

/** Far above any valid body (an account ID and a reason), far below anything that could hurt. */
export const MAX_BODY_BYTES = 16 * 1024;

export type FieldSpec =
  | { type: 'string'; required?: boolean; maxLength: number; description?: string }
  | { type: 'boolean'; required?: boolean; description?: string };

export type BodySpec = Record<string, FieldSpec>;

type FieldValue<F extends FieldSpec> = F extends { type: 'string' } ? string : boolean;

export type BodyOf<S extends BodySpec> = {
  [K in keyof S as S[K]['required'] extends true ? K : never]: FieldValue<S[K]>;
} & {
  [K in keyof S as S[K]['required'] extends true ? never : K]?: FieldValue<S[K]>;
};

/**
 * Reads at most MAX_BODY_BYTES of the body. The declared length is checked
 * first, but a chunked body has none, so the bytes are counted as they come.
 */
export async function readBodyText(request: HttpRequest, maxBytes = MAX_BODY_BYTES): Promise<string> {
  const declared = Number(request.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge(maxBytes);
  if (!request.body) return '';
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    const chunk = value instanceof Uint8Array ? value : new Uint8Array(value as ArrayBuffer);
    total += chunk.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge(maxBytes);
    }
    chunks.push(chunk);
  }
  return new TextDecoder('utf-8', { fatal: false }).decode(Buffer.concat(chunks));
}

function tooLarge(maxBytes: number): ApiError {
  return new ApiError(400, 'bodyTooLarge', `The request body is larger than ${maxBytes} bytes; send only the documented fields.`);
}

/**
 * Parses and checks a body against `spec`. An empty body counts as `{}`, so
 * that endpoints whose fields are all optional accept a bare POST.
 */
export async function readJsonBody<S extends BodySpec>(request: HttpRequest, spec: S): Promise<BodyOf<S>> {
  const text = await readBodyText(request);
  let parsed: unknown = {};
  if (text.trim() !== '') {
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      const detail = error instanceof SyntaxError ? `: ${error.message}` : '';
      throw new ApiError(400, 'malformedJson', `The request body is not valid JSON${detail}.`);
    }
  }
  return validateBody(parsed, spec);
}

export function validateBody<S extends BodySpec>(parsed: unknown, spec: S): BodyOf<S> {
  const allowed = Object.keys(spec);
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ApiError(400, 'invalidBody', `The request body must be a JSON object${allowed.length ? ` with the fields ${describeFields(spec)}` : ''}.`);
  }
  const body = parsed as Record<string, unknown>;
  const unknown = Object.keys(body).filter((key) => !Object.hasOwn(spec, key));
  if (unknown.length) {
    throw new ApiError(
      400,
      'unknownField',
      `Unknown field${unknown.length > 1 ? 's' : ''} ${unknown.map((key) => `"${key}"`).join(', ')}; ${allowed.length ? `allowed: ${describeFields(spec)}` : 'this endpoint takes no fields'}.`,
    );
  }
  for (const [name, field] of Object.entries(spec)) {
    const value = body[name];
    if (value === undefined) {
      if (field.required) throw new ApiError(400, 'missingField', `The field "${name}" is required (${describeField(field)}).`);
      continue;
    }
    if (field.type === 'boolean' && typeof value !== 'boolean') {
      throw new ApiError(400, 'invalidField', `The field "${name}" must be true or false, not ${describeValue(value)}.`);
    }
    if (field.type === 'string') {
      if (typeof value !== 'string') throw new ApiError(400, 'invalidField', `The field "${name}" must be a string, not ${describeValue(value)}.`);
      if (field.required && value.trim() === '') throw new ApiError(400, 'invalidField', `The field "${name}" must not be empty.`);
      if (value.length > field.maxLength) throw new ApiError(400, 'invalidField', `The field "${name}" must be at most ${field.maxLength} characters, not ${value.length}.`);
      // Control characters would end up in logs and in the task hub.
      // eslint-disable-next-line no-control-regex
      if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(value)) {
        throw new ApiError(400, 'invalidField', `The field "${name}" must not contain control characters.`);
      }
    }
  }
  return body as BodyOf<S>;
}

function describeFields(spec: BodySpec): string {
  return Object.entries(spec)
    .map(([name, field]) => `"${name}"${field.required ? '' : '?'} (${describeField(field)})`)
    .join(', ');
}

function describeField(field: FieldSpec): string {
  return field.type === 'string' ? `a string of at most ${field.maxLength} characters` : 'true or false';
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}
