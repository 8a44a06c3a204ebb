/**
 * What one validation of a new key reads once, for all its probes: the key
 * and the endpoints to probe. Before, every probe re-read the account and the
 * keys from ARM (two requests a probe, answers unchanged between probes).
 *
 * Held in this worker's memory only, never in an activity input or output,
 * for one validation (named by the orchestrator: rotation, key, attempt), at
 * most HOLD_MS, and dropped at once when a probe is not accepted (the next
 * probe reads again: the key may have changed). publishKey takes the key a
 * validation accepted and publishes exactly that value. A worker that holds
 * nothing (another instance, a restart) simply reads ARM again.
 */
import type { RegionEndpoint } from '../domain/account-facts.js';
import type { KeyKind } from '../domain/keys.js';
import type { SecretValue } from '../azure/secret-value.js';

/** Longer than any validation spread the settings allow a probe gap to be, short enough that a stale key cannot linger. */
const HOLD_MS = 60 * 60_000;

export interface ValidationReads {
  key: SecretValue;
  endpoints: RegionEndpoint[];
  disableLocalAuth: boolean;
}

interface Held extends ValidationReads {
  accountId: string;
  keyKind: KeyKind;
  until: number;
}

const held = new Map<string, Held>();

function drop(expiredAt: number): void {
  for (const [session, entry] of held) if (entry.until <= expiredAt) held.delete(session);
}

/** The reads of this validation session, if this worker holds them for this account and key. */
export function heldReads(session: string, accountId: string, keyKind: KeyKind, now: Date): ValidationReads | undefined {
  drop(now.getTime());
  const entry = held.get(session);
  return entry && entry.accountId.toLowerCase() === accountId.toLowerCase() && entry.keyKind === keyKind ? entry : undefined;
}

export function holdReads(session: string, accountId: string, keyKind: KeyKind, reads: ValidationReads, now: Date): void {
  drop(now.getTime());
  held.set(session, { ...reads, accountId, keyKind, until: now.getTime() + HOLD_MS });
}

export function forgetReads(session: string): void {
  held.delete(session);
}

/** The key a validation session accepted (publishing takes it: it is held no longer). */
export function takeValidatedKey(session: string, accountId: string, keyKind: KeyKind, now: Date): SecretValue | undefined {
  const reads = heldReads(session, accountId, keyKind, now);
  held.delete(session);
  return reads?.key;
}
