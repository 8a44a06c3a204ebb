/**
 * The stable api-version 2026-03-15 reports no key usage times (its
 * keysMetadata has generationTime only). Without them, "idle for 12 hours"
 * cannot be observed, so the key consumers held before the latest Key Vault
 * version counts as in use until that version has been published for the
 * consumer wait bound: consumers that read Key Vault have had that long to
 * move. An operator's consumers-moved still ends the wait earlier.
 */
import type { KeyFacts } from './account-facts.js';
import { otherKeyOf, type KeyKind } from './keys.js';

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;

export interface UnreportedUsageRule {
  consumerWaitMaxInHours: number;
  idleWindowInHours: number;
  usageMarginInMinutes: number;
}

/**
 * The last use to assume for the key Key Vault held before its latest version
 * (published at `publishedAt`), when ARM reports none: "now" while the
 * consumer wait runs, then the instant that makes it idle exactly when the
 * wait bound has passed. A key regenerated after the publish was never handed
 * to consumers: nothing is assumed for it.
 */
export function assumedLastUseWithoutUsageReports(
  previousKey: KeyFacts,
  published: { publishedAt: string },
  rule: UnreportedUsageRule,
  now: Date,
): string | null {
  const publishedMs = Date.parse(published.publishedAt);
  if (Number.isNaN(publishedMs)) return null;
  const generatedMs = previousKey.generationTime ? Date.parse(previousKey.generationTime) : Number.NaN;
  if (!Number.isNaN(generatedMs) && generatedMs > publishedMs) return null;
  const idleAfterMs = (rule.idleWindowInHours * HOUR_MS) + rule.usageMarginInMinutes * MINUTE_MS;
  const assumedMs = Math.max(publishedMs, Math.min(now.getTime(), publishedMs + rule.consumerWaitMaxInHours * HOUR_MS - idleAfterMs));
  return new Date(assumedMs).toISOString();
}

/**
 * The keys with the assumption applied to the key the latest version replaced;
 * unchanged when usage is reported. Only a version a rotation published
 * (`publishedRotationId`) replaced a key: a secret a person put there by hand
 * has no predecessor the rotation knows of.
 */
export function withAssumedUsage(
  keys: Record<KeyKind, KeyFacts>,
  facts: { usageReported?: boolean; publishedKeyKind: KeyKind | null; publishedAt: string | null; publishedRotationId: string | null },
  rule: UnreportedUsageRule,
  now: Date,
): Record<KeyKind, KeyFacts> {
  if (facts.usageReported !== false || facts.publishedKeyKind === null || facts.publishedAt === null || facts.publishedRotationId === null) return keys;
  const previous = otherKeyOf(facts.publishedKeyKind);
  const lastUsedAt = assumedLastUseWithoutUsageReports(keys[previous], { publishedAt: facts.publishedAt }, rule, now);
  return { ...keys, [previous]: { ...keys[previous], lastUsedAt } };
}
