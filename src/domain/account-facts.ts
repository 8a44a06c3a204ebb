/**
 * What Azure Resource Manager says about an account that a rotation decides
 * on: read by the adapter, carried by the inspect activity. Facts, never keys.
 */
import type { KeyKind } from './keys.js';

export interface KeyFacts {
  /** ISO time the key was generated, or null when ARM does not say (keys older than mid-2022). */
  generationTime: string | null;
  /** ISO time of the last data-plane use ARM reports (approximate), or null when never used or unknown. */
  lastUsedAt: string | null;
}

export interface AccountFacts {
  accountId: string;
  accountName: string;
  documentEndpoint: string;
  capabilities: string[];
  /** The account has EnableKeyCheckBeforeRegenerationPreview: ARM refuses to regenerate a key used within 12 h. */
  safeRotationCheckEnabled: boolean;
  disableLocalAuth: boolean;
  keys: Record<KeyKind, KeyFacts>;
  /**
   * False when the api-version in use reports no usage times (the stable
   * 2026-03-15): every lastUsedAt is then null because ARM does not say, not
   * because the key is unused.
   */
  usageReported?: boolean;
  /**
   * Each region's data-plane endpoint as ARM reports it (readLocations), the
   * first the write region. A new key reaches regions at different times:
   * validation probes every one of them. Absent: only documentEndpoint is known.
   */
  regionEndpoints?: RegionEndpoint[];
}

export interface RegionEndpoint {
  locationName: string;
  documentEndpoint: string;
}
