/**
 * When an account's keys are no longer used at all, its consumers have moved
 * to Microsoft Entra ID and local (key) authentication can be turned off.
 * The app only says so; it never disables local auth itself (its role has no
 * write on the account). Pure: callers pass `now`.
 */
import type { KeyFacts } from './account-facts.js';
import { KEY_KINDS, type KeyKind } from './keys.js';

const DAY_MS = 24 * 3_600_000;

export interface LocalAuthReadiness {
  ready: boolean;
  /** One sentence: why it is (not) ready. */
  reason: string;
  /** The most recent use of any key (null: none reported). */
  lastKeyUseAt: string | null;
  /** When it becomes ready if no key is used again; null when ready, or when that cannot be told. */
  readyFrom: string | null;
}

/**
 * Ready when every one of the four keys has gone `unusedForDays` without use.
 * A key that reports no use counts from its generation time (it was never
 * used since); with neither time known, nothing can be told and it is not ready.
 */
export function localAuthReadiness(options: {
  keys: Record<KeyKind, KeyFacts>;
  localAuthDisabled: boolean;
  /** False when the api-version reports no usage times (the stable one): then no key can be shown unused. */
  usageReported?: boolean;
  unusedForDays: number;
  now: Date;
}): LocalAuthReadiness {
  const { keys, unusedForDays, now } = options;
  const used = KEY_KINDS.map((kind) => keys[kind].lastUsedAt).filter((at): at is string => at !== null).sort();
  const lastKeyUseAt = used.at(-1) ?? null;
  if (options.localAuthDisabled) {
    return { ready: false, reason: 'Local authentication is already disabled: consumers use Microsoft Entra ID.', lastKeyUseAt, readyFrom: null };
  }
  if (options.usageReported === false) {
    return { ready: false, reason: 'The api-version in use (COSMOS_ARM_API_VERSION) reports no key usage times: whether the keys are still used cannot be told.', lastKeyUseAt, readyFrom: null };
  }
  const unknown = KEY_KINDS.filter((kind) => keys[kind].lastUsedAt === null && keys[kind].generationTime === null);
  if (unknown.length > 0) {
    return { ready: false, reason: `Azure reports neither a last use nor a generation time for ${unknown.join(', ')}: whether it is used cannot be told.`, lastKeyUseAt, readyFrom: null };
  }
  const idleSince = KEY_KINDS.map((kind) => ({ kind, at: keys[kind].lastUsedAt ?? keys[kind].generationTime!, used: keys[kind].lastUsedAt !== null }));
  const latest = idleSince.reduce((a, b) => (Date.parse(b.at) > Date.parse(a.at) ? b : a));
  const readyFrom = new Date(Date.parse(latest.at) + unusedForDays * DAY_MS);
  if (readyFrom.getTime() <= now.getTime()) {
    return {
      ready: true,
      reason: `No key was used in the last ${unusedForDays} days${lastKeyUseAt ? ` (last use of any key ${lastKeyUseAt})` : ' (no key use was ever reported)'}: consumers no longer use keys.`,
      lastKeyUseAt,
      readyFrom: null,
    };
  }
  return {
    ready: false,
    reason: latest.used
      ? `${latest.kind} was used at ${latest.at}; local authentication can go once no key has been used for ${unusedForDays} days.`
      : `${latest.kind} was generated at ${latest.at} and has had less than ${unusedForDays} days to show whether anyone uses it.`,
    lastKeyUseAt,
    readyFrom: readyFrom.toISOString(),
  };
}

/**
 * The Azure CLI command an operator runs to disable local authentication
 * (Microsoft Learn, "Disable key-based authentication with Azure Cosmos DB
 * for NoSQL": `az resource update ... --set properties.disableLocalAuth=true`).
 */
export function disableLocalAuthCommand(account: { subscriptionId: string; resourceGroup: string; accountName: string }): string {
  return (
    `az resource update --subscription ${account.subscriptionId} --resource-group ${account.resourceGroup} ` +
    `--name ${account.accountName} --resource-type Microsoft.DocumentDB/databaseAccounts --set properties.disableLocalAuth=true`
  );
}
