/**
 * Which configured account an operator means. Only configured accounts can
 * ever be rotated: an account is named by its configured name, its account
 * name, or its full resource ID (URL-encoded when it is part of the path).
 */
import { findTarget, parseAccountId, type RotationTarget, type TargetList } from '../config.js';
import { ApiError } from './errors.js';

const ACCOUNT_ID_SHAPE = '/subscriptions/{subscription-guid}/resourceGroups/{group}/providers/Microsoft.DocumentDB/databaseAccounts/{account}';
export const MAX_ACCOUNT_REFERENCE_LENGTH = 400;

export function resolveAccount(config: TargetList, reference: string): RotationTarget {
  const trimmed = reference.trim();
  if (trimmed === '') throw new ApiError(400, 'invalidAccount', 'Name the account: its configured name or its resource ID.');
  if (trimmed.length > MAX_ACCOUNT_REFERENCE_LENGTH) {
    throw new ApiError(400, 'invalidAccount', `An account name or resource ID has at most ${MAX_ACCOUNT_REFERENCE_LENGTH} characters.`);
  }
  if (trimmed.startsWith('/') && !parseAccountId(trimmed)) {
    throw new ApiError(400, 'invalidAccount', `"${trimmed}" is not a Cosmos DB account resource ID (expected ${ACCOUNT_ID_SHAPE}).`);
  }
  const target = findTarget(config, trimmed);
  if (target) return target;
  if (!trimmed.startsWith('/') && !/^[\w.-]+$/.test(trimmed)) {
    throw new ApiError(400, 'invalidAccount', `"${trimmed}" is neither an account name (letters, digits, dashes) nor a resource ID (${ACCOUNT_ID_SHAPE}).`);
  }
  throw new ApiError(
    404,
    'accountNotConfigured',
    `The account "${trimmed}" is not configured; only the accounts in the target list (ROTATION_TARGETS or ROTATION_TARGETS_BLOB_URL) can be rotated (GET /api/rotations lists them).`,
  );
}

/**
 * The `{account}` route value. A resource ID in a path must be URL-encoded;
 * depending on the front end the value arrives decoded or still encoded
 * (%2F is often left alone), so a remaining escape is decoded once here.
 */
export function accountFromRoute(value: string | undefined): string {
  const raw = value ?? '';
  if (!raw.includes('%')) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new ApiError(400, 'invalidAccount', `"${raw}" is not a valid URL-encoded account name or resource ID.`);
  }
}
