/**
 * The activities by name, for functions/rotation.ts to register
 * (`df.app.activity(name, { handler })`).
 */
import type { InvocationContext } from '@azure/functions';
import { beginRegenerateKey } from './begin-regenerate-key.js';
import { ACTIVITY_NAMES } from './contracts.js';
import { emitRotationEvent } from './emit-rotation-event.js';
import { getRegenerationStatus } from './get-regeneration-status.js';
import { inspectAccount } from './inspect-account.js';
import { markRegeneration } from './mark-regeneration.js';
import { publishKey } from './publish-key.js';
import { validateKey } from './validate-key.js';

export { beginRegenerateKey, emitRotationEvent, getRegenerationStatus, inspectAccount, markRegeneration, publishKey, validateKey };
export { readAccountFacts } from './inspect-account.js';
export { CONNECTION_STRING_CONTENT_TYPE, KEY_CONTENT_TYPE, SECRET_TAGS } from './secret-format.js';

export type ActivityHandler = (input: never, context: InvocationContext) => Promise<unknown>;

export const activityHandlers = {
  [ACTIVITY_NAMES.inspectAccount]: inspectAccount,
  [ACTIVITY_NAMES.beginRegenerateKey]: beginRegenerateKey,
  [ACTIVITY_NAMES.getRegenerationStatus]: getRegenerationStatus,
  [ACTIVITY_NAMES.validateKey]: validateKey,
  [ACTIVITY_NAMES.publishKey]: publishKey,
  [ACTIVITY_NAMES.markRegeneration]: markRegeneration,
  [ACTIVITY_NAMES.emitRotationEvent]: emitRotationEvent,
} as const satisfies Record<(typeof ACTIVITY_NAMES)[keyof typeof ACTIVITY_NAMES], ActivityHandler>;
