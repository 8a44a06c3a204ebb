/**
 * Seeing the fleet: one account's rotation history, the key-hygiene report
 * over every configured account, and the read-only dashboard that shows both.
 * Reads only; nothing here carries key material (the facts are ARM's key
 * metadata and Key Vault secret properties, never values).
 */
import type { HttpRequest } from '@azure/functions';
import type { RotationTarget } from '../config.js';
import type { InspectAccountResult, KeyFacts } from '../activities/contracts.js';
import { KEY_KINDS, KEY_PAIRS, type KeyKind, type KeyPairName } from '../domain/keys.js';
import { disableLocalAuthCommand, localAuthReadiness, type LocalAuthReadiness } from '../domain/local-auth.js';
import { describeRotationWindows, regenerationWindow } from '../domain/rotation-window.js';
import { rotatedPairs } from '../domain/settings.js';
import { listHistory } from '../history/rotation-history.js';
import { mapLimited } from '../schedule/map-limited.js';
import { describe } from '../schedule/run-schedule.js';
import { accountFromRoute, resolveAccount } from './accounts.js';
import { DASHBOARD_HTML, DASHBOARD_SCRIPT_HASH } from './dashboard-page.js';
import { ApiError, jsonResponse } from './errors.js';
import { linksFor, type Operation } from './operations.js';
import { accountRef, type AccountRef } from './rotation-view.js';

const DAY_MS = 24 * 3_600_000;
export const HISTORY_PAGE_DEFAULT = 20;
export const HISTORY_PAGE_MAX = 100;
/** Used when the config leaves LOCAL_AUTH_UNUSED_IN_DAYS out (the setting's default). */
const LOCAL_AUTH_UNUSED_DEFAULT_DAYS = 30;

/** GET /rotations/{account}/history: every rotation of the account, newest first, paged with top and skip. */
export const getRotationHistory: Operation = async (request, client, deps) => {
  const target = resolveAccount(deps.config, accountFromRoute(request.params.account));
  const top = queryInteger(request, 'top', { min: 1, max: HISTORY_PAGE_MAX }) ?? HISTORY_PAGE_DEFAULT;
  const skip = queryInteger(request, 'skip', { min: 0, max: 1_000_000 }) ?? 0;
  const entries = await listHistory(client, target);
  const page = entries.slice(skip, skip + top);
  const links = linksFor(request, target);
  const next = skip + top < entries.length ? `${links.status}/history?top=${top}&skip=${skip + top}` : null;
  return jsonResponse(200, { account: accountRef(target), total: entries.length, top, skip, rotations: page, nextLink: next });
};

function queryInteger(request: HttpRequest, name: string, range: { min: number; max: number }): number | null {
  const raw = request.query.get(name);
  if (raw === null || raw === '') return null;
  if (!/^\d+$/.test(raw) || Number(raw) < range.min || Number(raw) > range.max) {
    throw new ApiError(400, 'invalidQuery', `The query parameter "${name}" must be a whole number from ${range.min} to ${range.max}, got "${raw}".`);
  }
  return Number(raw);
}

export interface KeyReportKey {
  keyKind: KeyKind;
  generatedAt: string | null;
  ageInDays: number | null;
  lastUsedAt: string | null;
  /** The key the latest Key Vault secret version of its pair holds (the one consumers should use). */
  heldByKeyVault: boolean;
}

export interface KeyReportSecret {
  pair: KeyPairName;
  secretName: string;
  keyKind: KeyKind | null;
  publishedAt: string | null;
  ageInDays: number | null;
  rotationIntervalInDays: number;
  /** Older than the rotation interval, or never published. */
  overdue: boolean;
}

export interface KeyReportAccount {
  account: AccountRef;
  localAuthDisabled: boolean | null;
  capabilities: {
    /** EnableKeyCheckBeforeRegenerationPreview: ARM refuses to regenerate a key used within 12 h. */
    keyCheckBeforeRegeneration: boolean;
    /** EnableAccountKeysLastUsageCheckInDisableLocalAuth: ARM refuses to disable local auth while keys are in use. */
    keyCheckBeforeDisablingLocalAuth: boolean;
  } | null;
  rotationWindows: string;
  /** When keys may next be regenerated: null when now is inside a window. */
  windowOpensAt: string | null;
  keys: KeyReportKey[];
  secrets: KeyReportSecret[];
  overdue: boolean;
  readyToDisableLocalAuth: (LocalAuthReadiness & { command: string | null }) | null;
  /** Set when ARM or Key Vault could not be read for this account; the other fields are then empty. */
  problem: string | null;
}

/** GET /keys: the key-hygiene report over every configured account. */
export const getKeyReport: Operation = async (_request, _client, deps) => {
  const now = deps.now();
  const unusedForDays = deps.config.localAuthUnusedInDays ?? LOCAL_AUTH_UNUSED_DEFAULT_DAYS;
  const accounts = await mapLimited(deps.config.targets, 4, async (target) => {
    try {
      const facts = await Promise.all(rotatedPairs(target).map(async ({ pair, secretName }) => ({ pair, secretName, facts: await deps.inspectAccount({ accountId: target.accountId, pair, secretName }) })));
      return keyReportOf(target, facts, now, unusedForDays);
    } catch (error) {
      return failedReport(target, now, `the account or its secret could not be read (${describe(error)})`);
    }
  });
  return jsonResponse(200, { generatedAt: now.toISOString(), localAuthUnusedInDays: unusedForDays, accounts });
};

export function keyReportOf(
  target: RotationTarget,
  pairs: Array<{ pair: KeyPairName; secretName: string; facts: InspectAccountResult }>,
  now: Date,
  unusedForDays: number,
): KeyReportAccount {
  const facts = pairs[0]!.facts;
  const held = new Set(pairs.map((pair) => pair.facts.publishedKeyKind).filter((kind) => kind !== null));
  const keys = KEY_KINDS.map((keyKind): KeyReportKey => {
    const key: KeyFacts = facts.keys[keyKind];
    return { keyKind, generatedAt: key.generationTime, ageInDays: ageInDays(key.generationTime, now), lastUsedAt: key.lastUsedAt, heldByKeyVault: held.has(keyKind) };
  });
  const secrets = pairs.map(({ pair, secretName, facts: pairFacts }): KeyReportSecret => {
    const age = ageInDays(pairFacts.publishedAt, now);
    const publishedKind = pairFacts.publishedKeyKind && KEY_PAIRS[pair].kinds.includes(pairFacts.publishedKeyKind) ? pairFacts.publishedKeyKind : null;
    return { pair, secretName, keyKind: publishedKind, publishedAt: pairFacts.publishedAt, ageInDays: age, rotationIntervalInDays: target.rotationIntervalInDays, overdue: age === null || age > target.rotationIntervalInDays };
  });
  const readiness = localAuthReadiness({ keys: facts.keys, localAuthDisabled: facts.disableLocalAuth, unusedForDays, now, ...(facts.usageReported === false ? { usageReported: false } : {}) });
  return {
    ...windowOf(target, now),
    account: accountRef(target),
    localAuthDisabled: facts.disableLocalAuth,
    capabilities: {
      keyCheckBeforeRegeneration: facts.safeRotationCheckEnabled,
      keyCheckBeforeDisablingLocalAuth: facts.capabilities.includes('EnableAccountKeysLastUsageCheckInDisableLocalAuth'),
    },
    keys,
    secrets,
    overdue: secrets.some((secret) => secret.overdue),
    readyToDisableLocalAuth: { ...readiness, command: readiness.ready ? disableLocalAuthCommand(target) : null },
    problem: null,
  };
}

function failedReport(target: RotationTarget, now: Date, problem: string): KeyReportAccount {
  return { account: accountRef(target), localAuthDisabled: null, capabilities: null, ...windowOf(target, now), keys: [], secrets: [], overdue: false, readyToDisableLocalAuth: null, problem };
}

function windowOf(target: RotationTarget, now: Date): { rotationWindows: string; windowOpensAt: string | null } {
  const window = regenerationWindow(target.rotationWindows, now);
  return { rotationWindows: describeRotationWindows(target.rotationWindows), windowOpensAt: window.open ? null : window.opensAt.toISOString() };
}

function ageInDays(iso: string | null, now: Date): number | null {
  if (iso === null) return null;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? null : Math.round(((now.getTime() - ms) / DAY_MS) * 10) / 10;
}

/** GET /dashboard: the read-only fleet page; it reads the API above with the caller's own credentials. */
export const getDashboard: Operation = async () => ({
  status: 200,
  body: DASHBOARD_HTML,
  headers: {
    'Content-Type': 'text/html; charset=utf-8',
    'Cache-Control': 'no-store',
    // Everything the page runs is in the page; it talks only to this API.
    'Content-Security-Policy': `default-src 'none'; script-src '${DASHBOARD_SCRIPT_HASH}'; style-src 'unsafe-inline'; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'`,
    'X-Content-Type-Options': 'nosniff',
  },
});
